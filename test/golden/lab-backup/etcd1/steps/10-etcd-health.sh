#!/bin/bash
# Gate: every etcd member of the stack answers healthy, within 180 s. Then members the
# stack no longer has (a replaced or removed host) leave the cluster, one at a time and only while
# every member the stack has is healthy (so quorum is never at risk), and the gate holds when every
# member is a healthy voter and all agree on the raft term and applied index.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
export ETCDCTL_API=3
# The cluster's etcd takes TLS with client certificates only: this host's own (root reads it).
export ETCDCTL_CACERT='/etc/etcd/tls/ca.crt' ETCDCTL_CERT='/etc/etcd/tls/host.crt' ETCDCTL_KEY='/etc/etcd/tls/host.key'
endpoints='https://10.251.17.11:2379,https://10.251.17.12:2379,https://10.251.17.13:2379'
desired='etcd1 https://10.251.17.11:2380
etcd2 https://10.251.17.12:2380
etcd3 https://10.251.17.13:2380'
deadline=$((SECONDS + 180))
fail() {
    echo "$1" >&2
    log_tail etcd
    exit 1
}
healthy() {
    until out=$(etcdctl --endpoints="$endpoints" --command-timeout=3s endpoint health 2>&1); do
        [ "$SECONDS" -lt "$deadline" ] || fail "etcd is not healthy on every member after 180 s:
$out"
        sleep 1
    done
}
# The members etcd has, asked of the endpoints in $1, as "hex-id name peer-url client-url learner|voter" lines.
member_lines() {
    etcdctl --endpoints="$1" --command-timeout=5s member list -w json | python3 -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    print("%x" % m["ID"], m.get("name") or "-", (m.get("peerURLs") or ["-"])[0], (m.get("clientURLs") or ["-"])[0], "learner" if m.get("isLearner") else "voter")'
}

healthy
while read -r id name peer _ _; do
    if ! grep -qxF "$name $peer" <<<"$desired"; then
        # etcd refuses the removal while the members left would not have been connected to a quorum
        # for 5 s (e.g. right after a member joined): it is asked again until then.
        until healthy && out=$(etcdctl --endpoints="$endpoints" member remove "$id" 2>&1); do
            [ "$SECONDS" -lt "$deadline" ] || fail "etcd did not remove member $name ($peer) within 180 s: $out"
            sleep 1
        done
        echo "removed member $name ($peer): the stack no longer has it"
    fi
done < <(member_lines "$endpoints")
members=$(member_lines "$endpoints")
if grep -q ' learner$' <<<"$members"; then fail "etcd members still learners (a join did not finish; its step runs again on the next up): $members"; fi
# Every member on the same raft term and applied index: the cluster agrees (Patroni writes every
# loop_wait, so a moment between two writes is waited for).
until status=$(etcdctl --endpoints="$endpoints" --command-timeout=3s endpoint status -w json 2>/dev/null) \
    && python3 -c '
import json, sys
s = json.loads(sys.argv[1])
terms = {m["Status"]["raftTerm"] for m in s}
indexes = {m["Status"]["raftIndex"] for m in s}
sys.exit(0 if len(terms) == 1 and len(indexes) == 1 else 1)' "$status"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "etcd members do not agree on the raft term and index after 180 s: $status"
    sleep 0.5
done
echo "$out"
etcdctl --endpoints="$endpoints" endpoint status -w table
