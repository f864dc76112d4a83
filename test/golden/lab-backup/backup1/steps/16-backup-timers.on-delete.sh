#!/bin/bash
# Runs when the backup schedule of backup1 is deleted (backups turned off, or the host left): stop
# and disable its timers. The repository and its backups stay. Safe to run twice.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
for timer in pgha-backup-full.timer pgha-backup-diff.timer pgha-backup-incr.timer ; do
    if systemctl cat "$timer" >/dev/null 2>&1; then
        systemctl disable --now "$timer" >/dev/null 2>&1 || true
        echo "$timer stopped and disabled on backup1"
    fi
done
