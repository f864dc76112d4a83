#!/bin/bash
# Starts (or reloads) HAProxy, then Keepalived, on lb1.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl enable haproxy keepalived >/dev/null 2>&1
for unit in haproxy keepalived; do
    if systemctl is-active --quiet "$unit"; then
        systemctl reload "$unit"
        echo "$unit reloaded on lb1"
    else
        systemctl restart "$unit" || { log_tail "$unit"; exit 1; }
        echo "$unit started on lb1"
    fi
done
