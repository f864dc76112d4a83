#!/bin/bash
# Creates or updates application roles and databases on the primary, found among the Patroni
# members by libpq itself (target_session_attrs=read-write): it works behind any front door.
# Standard input: the superuser password on the first line, then the SQL (SCRAM verifiers, no clear passwords).
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
# The PostgreSQL servers of every member the cluster has now, as libpq's multi-host list: the stack's
# members, and any member Patroni still knows (a member that leaves the stack may still lead until its
# own step hands over; one that joins may not run yet).
members_conninfo() {
    local url found
    for url in https://10.251.17.21:8008 https://10.251.17.22:8008 https://10.251.17.23:8008; do
        if found=$(curl -s --max-time 3 "$url/cluster" | python3 -c '
import json, sys
hosts, ports = sys.argv[1].split(","), sys.argv[2].split(",")
for m in json.load(sys.stdin).get("members", []):
    if m.get("host") and m["host"] not in hosts:
        hosts.append(m["host"]); ports.append(str(m.get("port", ports[0])))
print("host=%s port=%s" % (",".join(hosts), ",".join(ports)))' '10.251.17.21,10.251.17.22,10.251.17.23' '5432,5432,5432' 2>/dev/null) && [ -n "$found" ]; then
            echo "$found"
            return
        fi
    done
    echo "host=10.251.17.21,10.251.17.22,10.251.17.23 port=5432,5432,5432"
}
IFS= read -r PGPASSWORD
export PGPASSWORD
psql "$(members_conninfo) user=postgres dbname=postgres connect_timeout=5 target_session_attrs=read-write" -X -q -v ON_ERROR_STOP=1 -f -
echo "roles and databases in place"
