#!/bin/bash
# Gate: the cluster has a primary. On a first run that is pg1, the member that bootstraps;
# on a later run any member may lead, and pg1 must at least be running.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
# The cluster runs TLS, and this member holds its certificate. libpq verifies every server against
# the cluster's CA and the address it dialled; curl verifies Patroni's REST API the same way and
# presents this member's certificate (the endpoints that change state want one).
export PGSSLMODE=verify-full PGSSLROOTCERT='/etc/patroni/tls/ca.crt'
export REST_API_CA='/etc/patroni/tls/ca.crt' REST_API_CERT='/etc/patroni/tls/host.crt' REST_API_KEY='/etc/patroni/tls/host.key'
curl() { command curl --cacert "$REST_API_CA" --cert "$REST_API_CERT" --key "$REST_API_KEY" "$@"; }
api='https://10.251.17.21:8008'
deadline=$((SECONDS + 300))
while :; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$api/primary" || true)" = 200 ]; then
        echo "pg1 is the primary"
        exit 0
    fi
    leader=$(curl -s --max-time 3 "$api/cluster" | python3 -c '
import json, sys
try:
    members = json.load(sys.stdin).get("members", [])
except ValueError:
    members = []
print(next((m["name"] for m in members if m.get("role") in ("leader", "master", "primary") and m.get("state") == "running"), ""))
' || true)
    if [ -n "$leader" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$api/health" || true)" = 200 ]; then
        echo "the cluster is led by $leader; pg1 is running"
        exit 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "no primary after 300 s (cluster view from pg1: $(curl -s --max-time 3 "$api/cluster" || echo unreachable))" >&2
        log_tail patroni
        exit 1
    fi
    sleep 1
done
