#!/bin/bash
# Schedules the backups of cluster lab on backup1: full (Sun *-*-* 01:00:00), diff (Mon..Sat *-*-* 01:00:00), incr (hourly).
# A schedule set to off has its timer stopped and disabled.
# Applies (a change to any of these files re-runs this step):
#   /usr/local/sbin/pgha-backup sha256:5798ff80eb7f4ec2a6e500629371f9a9c808bea0204ce4e97ca0851612dd48ce
#   /etc/systemd/system/pgha-backup@.service sha256:31bb5d30c72b1f27af848dfe03e07a2bc5fdf6a939c9a1438f6ba81951b3c20b
#   /etc/systemd/system/pgha-backup-full.timer sha256:d6dcdea33185919e8ed25d0c5e21582cf49c6bdb6166ddc76ca1529c51d4d7ed
#   /etc/systemd/system/pgha-backup-diff.timer sha256:66b3b86ba514438957fb8b7683df25372feaa4e5873a9aee4f6dfd3f8ac7cddc
#   /etc/systemd/system/pgha-backup-incr.timer sha256:f24f32916b2c3e96ad1b95f06d67ce0e05e1dcec261152a723bf0a0dcfe2ce38
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl daemon-reload
systemctl enable pgha-backup-full.timer >/dev/null 2>&1
systemctl restart pgha-backup-full.timer
systemctl enable pgha-backup-diff.timer >/dev/null 2>&1
systemctl restart pgha-backup-diff.timer
systemctl enable pgha-backup-incr.timer >/dev/null 2>&1
systemctl restart pgha-backup-incr.timer
systemctl list-timers --no-pager 'pgha-backup-*' || true
