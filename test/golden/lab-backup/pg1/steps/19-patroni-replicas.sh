#!/bin/bash
# Gate: every member other than the leader is streaming from it, less than 1048576 bytes behind
# (maximum_lag_on_failover: a member further behind could not take over), and a synchronous standby is chosen.
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
members='pg1,pg2,pg3'
deadline=$((SECONDS + 600))
while :; do
    if report=$(curl -s --max-time 3 "$api/cluster" | python3 -c '
import json, sys
expected = set(sys.argv[1].split(","))
want_sync = sys.argv[2] == "true"
members = {m["name"]: m for m in json.load(sys.stdin).get("members", [])}
leaders = [n for n, m in members.items() if m.get("role") in ("leader", "master", "primary")]
if len(leaders) != 1:
    sys.exit("leaders: %s" % (leaders or "none"))
missing = sorted(expected - set(members))
if missing:
    sys.exit("not registered: %s" % ", ".join(missing))
behind = sorted(n for n, m in members.items() if n != leaders[0] and (m.get("state") not in ("running", "streaming") or not isinstance(m.get("lag"), int)))
if behind:
    sys.exit("not streaming yet: %s" % ", ".join(behind))
lagging = sorted("%s (%d bytes)" % (n, m["lag"]) for n, m in members.items() if n != leaders[0] and m["lag"] > int(sys.argv[3]))
if lagging:
    sys.exit("behind the leader by more than %s bytes: %s" % (sys.argv[3], ", ".join(lagging)))
# "quorum_standby" in quorum mode (Patroni 4).
sync = sorted(n for n, m in members.items() if m.get("role") in ("sync_standby", "quorum_standby"))
if want_sync and not sync:
    sys.exit("no synchronous standby yet")
replicas = sorted(set(members) - {leaders[0]})
print("leader %s; replicas streaming: %s; sync standby: %s" % (leaders[0], ", ".join(replicas), ", ".join(sync) or "none"))
print(json.dumps({"leader": leaders[0], "replicas": replicas, "syncStandbys": sync}))
' "$members" true 1048576 2>&1); then
        echo "$report"
        exit 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "replicas not ready after 600 s: $report" >&2
        log_tail patroni
        exit 1
    fi
    sleep 1
done
