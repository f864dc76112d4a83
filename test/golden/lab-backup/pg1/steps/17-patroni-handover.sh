#!/bin/bash
# A leader the stack no longer has (a member being removed, or moved to a new address) hands over to
# a healthy member the stack has, with a switchover, before the balancers stop sending writes to it:
# the balancers are reloaded after this step, and the leaving member's own steps are deleted only at
# the end of the deployment. Members: pg1,pg2,pg3. Nothing to do when the leader is one of them.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
patronictl=(patronictl -c '/etc/patroni/config.yml')
members='pg1,pg2,pg3'
deadline=$((SECONDS + 300))
# "leader candidate" when the leader must hand over (the candidate: a synchronous standby the stack
# has, else a streaming one), "" when the leader is a member the stack has.
plan() {
    "${patronictl[@]}" list -f json | python3 -c '
import json, sys
wanted = sys.argv[1].split(",")
members = json.load(sys.stdin)
leader = next((m["Member"] for m in members if m["Role"] == "Leader"), None)
if leader is None:
    sys.exit("no leader")
if leader in wanted:
    sys.exit(0)
healthy = [m for m in members if m["Member"] in wanted and m["State"] in ("running", "streaming")]
sync = [m for m in healthy if m["Role"] in ("Sync Standby", "Quorum Standby")]
pick = (sync or healthy or [None])[0]
if pick is None:
    sys.exit("leader %s leaves the cluster, and none of %s is healthy to take over" % (leader, ",".join(wanted)))
print(leader, pick["Member"])' "$members"
}
until handover=$(plan 2>&1); do
    [ "$SECONDS" -lt "$deadline" ] || { echo "$handover" >&2; exit 1; }
    sleep 2
done
if [ -z "$handover" ]; then
    echo "the leader is a member the stack has: nothing to hand over"
    exit 0
fi
read -r leader candidate <<<"$handover"
until "${patronictl[@]}" switchover --leader "$leader" --candidate "$candidate" --force; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "$leader did not hand over to $candidate within 300 s" >&2; exit 1; }
    sleep 2
    handover=$(plan) || true
    [ -n "$handover" ] || break
    read -r leader candidate <<<"$handover"
done
until [ -z "$(plan 2>/dev/null || echo pending)" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "no member the stack has leads 300 s after the switchover" >&2; exit 1; }
    sleep 1
done
echo "$leader (leaving the cluster) handed the leader role over to $candidate"
