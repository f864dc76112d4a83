#!/bin/bash
# Runs when the step that started keepalived, haproxy on lb1 is deleted (`pulumi destroy`, or the
# host left the cluster): stop and disable them. Safe to run twice.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
units=('keepalived' 'haproxy' )
for unit in "${units[@]}"; do
    if systemctl cat "$unit.service" >/dev/null 2>&1; then
        systemctl disable --now "$unit" >/dev/null 2>&1 || systemctl stop "$unit"
        echo "$unit stopped and disabled on lb1"
    fi
done
