#!/bin/bash
# Starts Patroni on pg1. On a fresh cluster the first member to start bootstraps it.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl daemon-reload
systemctl enable patroni >/dev/null 2>&1
if systemctl is-active --quiet patroni; then
    # Running already: make it read a changed patroni.yml (Patroni applies what it can on reload).
    systemctl reload patroni
    echo "patroni reloaded on pg1"
else
    systemctl start patroni
    echo "patroni started on pg1"
fi
