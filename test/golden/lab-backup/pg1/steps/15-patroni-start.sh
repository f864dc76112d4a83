#!/bin/bash
# Starts Patroni on pg1: on a fresh cluster the first member to start bootstraps it; a member
# that joins a running one clones its data (create_replica_methods) and starts streaming. A running
# member is left alone: a changed patroni.yml is applied by its reload step.
# A member that moved to a new address (the same name on another host) starts here only once the old
# host no longer runs it: two members of one name would share a member key and a replication slot.
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
    echo "patroni already running on pg1"
else
    # The cluster as the DCS has it (patronictl reads it without the local Patroni).
    elsewhere=$(patronictl -c '/etc/patroni/config.yml' list -f json 2>/dev/null | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if m["Member"] == sys.argv[1] and m.get("Host", "").split(":")[0] != sys.argv[2] and m.get("State") in ("running", "streaming", "starting"):
        print(m.get("Host"))' 'pg1' '10.251.17.21' 2>/dev/null || true)
    if [ -n "$elsewhere" ]; then
        echo "pg1 still runs at $elsewhere: a member that moves to 10.251.17.21 starts here once the old host no longer runs it. Fix: stop Patroni there (systemctl disable --now patroni on $elsewhere), or remove pg1 from the stack in one deployment and add it at its new address in the next; then run the deployment again." >&2
        exit 1
    fi
    systemctl start patroni
    echo "patroni started on pg1"
fi
