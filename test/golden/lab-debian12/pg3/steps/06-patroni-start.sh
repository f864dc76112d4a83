#!/bin/bash
# Starts Patroni on pg3: on a fresh cluster the first member to start bootstraps it; a member
# that joins a running one clones its data (create_replica_methods) and starts streaming. A running
# member is left alone: a changed patroni.yml is applied by its reload step.
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
    echo "patroni already running on pg3"
else
    systemctl start patroni
    echo "patroni started on pg3"
fi
