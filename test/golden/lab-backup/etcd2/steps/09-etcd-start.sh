#!/bin/bash
# Starts etcd member etcd2, or restarts it when its configuration changed. The members' steps
# run one after another: a first start is --no-block (the unit reports ready only at quorum, which
# needs the other members, started right after); a restart waits until this member is healthy again
# before the next member's step may restart that one, so quorum is never lost.
# A new member of a running cluster (a member added or replaced, the others answering) joins it:
# members that left the stack and are dead are removed first, then this one is added as a learner
# (it does not count towards quorum while it catches up), started with initial-cluster-state
# existing and a clean data directory, and promoted to a voting member once it has caught up.
# Applies (a change to any of these files re-runs this step):
#   /etc/default/etcd sha256:171fb10b7fdfd2cc3dadad994f9ff206790f6ea1729f81a5c23e74fb551ed286
#   /etc/systemd/system/etcd.service.d/pulumi-patroni.conf sha256:55983db3b3b5431c4ac064a0c31d187b358412ecab1c34436f10dc785e15e909
#   /etc/etcd/tls/ca.crt sha256:4c5345030ee1b0da4ba1139f422ee1597c03cac84b52714a366ff5bc5011a435
#   /etc/etcd/tls/host.crt sha256:168fc9d8050550929efb4ec33ef18c17bf086b272c63b90d31401566428f2769
#   /etc/etcd/tls/host.key sha256:acbfcf274b12b9c43945c09effa137755c89b7f93115ee18f25576de346c5b0c
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
me='etcd2'
my_peer_url='https://10.251.17.12:2380'
my_endpoint='https://10.251.17.12:2379'
# The members the stack has, from the configuration file (its initial cluster, which no running
# member re-reads: a change there re-runs no member's start step), as "name peer-url" lines.
desired=$(sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p' '/etc/default/etcd' | tr ',' '\n' | sed 's/=/ /')
others=$(awk -v me="$me" '$1 != me { split($2, u, "[/:]"); printf "%shttps://%s:2379", (n++ ? "," : ""), u[4] }' <<<"$desired")
join_env='/etc/default/etcd-join'
data_dir='/var/lib/etcd/default'
deadline=$((SECONDS + 180))

# Healthy needs a voting member ("health" is a linearizable read, which a learner refuses); "up"
# only needs the member to answer.
wait_for() { # health|status, what just happened
    until etcdctl --endpoints="$my_endpoint" --command-timeout=3s endpoint "$1" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "etcd on etcd2 does not answer $1 180 s after its $2" >&2
            log_tail etcd
            exit 1
        fi
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
# A member that joined as a learner becomes a voter once it has caught up with the leader (etcd
# refuses the promotion until then).
promote_if_learner() {
    local id
    [ -n "$others" ] || return 0
    id=$(member_lines "$others" | awk -v p="$my_peer_url" '$3 == p && $5 == "learner" { print $1 }') || return 0
    [ -n "$id" ] || return 0
    until member_lines "$others" | grep -q "^$id .* voter$"; do
        out=$(etcdctl --endpoints="$others" member promote "$id" 2>&1) && continue
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "etcd member etcd2 did not catch up with the leader within 180 s: $out" >&2
            log_tail etcd
            exit 1
        fi
        sleep 1
    done
    echo "etcd2 caught up and was promoted to a voting member"
}

systemctl daemon-reload
systemctl enable etcd >/dev/null 2>&1
if systemctl is-active --quiet etcd; then
    systemctl restart etcd
    wait_for status restart
    promote_if_learner
    wait_for health restart
    echo "etcd restarted on etcd2 and healthy"
    exit 0
fi
# A running cluster: another member answers healthy (which needs quorum; a member of a new cluster
# that is still waiting for its peers does not).
running=""
for endpoint in ${others//,/ }; do
    if etcdctl --endpoints="$endpoint" --command-timeout=3s endpoint health >/dev/null 2>&1; then running=$endpoint; break; fi
done
if [ -d "$data_dir/member" ]; then
    # A member with data (e.g. after a reboot): it knows its cluster (a learner whose join was cut
    # short is promoted once it answers).
    systemctl start --no-block etcd
    echo "etcd starting on etcd2 (existing member)"
    if [ -n "$running" ]; then
        wait_for status start
        promote_if_learner
    fi
    exit 0
fi
if [ -z "$running" ]; then
    # Nobody answers: a new cluster, started by every member's step in turn.
    rm -f "$join_env"
    systemctl start --no-block etcd
    echo "etcd starting on etcd2 (new cluster)"
    exit 0
fi

# Members the stack no longer has (by name and peer address) that do not answer: removed first, so
# that the cluster's quorum is counted over members that exist. One that still answers is removed by
# the health step, after this member has joined.
while read -r id name peer client _; do
    if ! grep -qxF "$name $peer" <<<"$desired" && [ "$peer" != "$my_peer_url" ]; then
        if [ "$client" = "-" ] || ! etcdctl --endpoints="$client" --command-timeout=3s endpoint health >/dev/null 2>&1; then
            until out=$(etcdctl --endpoints="$others" member remove "$id" 2>&1); do
                if [ "$SECONDS" -ge "$deadline" ]; then
                    echo "etcd did not remove member $name ($peer) within 180 s: $out" >&2
                    exit 1
                fi
                sleep 1
            done
            echo "removed member $name ($peer, not answering) that the stack no longer has"
        fi
    fi
done < <(member_lines "$others")
if [ -z "$(member_lines "$others" | awk -v p="$my_peer_url" '$3 == p')" ]; then
    # etcd refuses a change of membership until its members have been connected for 5 s (e.g. right
    # after another member joined): asked again until then.
    until out=$(etcdctl --endpoints="$others" member add "$me" --learner --peer-urls="$my_peer_url" 2>&1); do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "etcd did not add etcd2 within 180 s: $out" >&2
            exit 1
        fi
        sleep 1
    done
    echo "added etcd2 as a learner"
fi
# The cluster as it is now, this member included: etcd reads it only for its first start.
initial=$(member_lines "$others" | awk -v me="$me" -v p="$my_peer_url" '{ print ($3 == p ? me : $2) "=" $3 }' | paste -sd, -)
umask 022
printf 'ETCD_INITIAL_CLUSTER="%s"\nETCD_INITIAL_CLUSTER_STATE="existing"\n' "$initial" >"$join_env"
find "$data_dir" -mindepth 1 -delete
systemctl start --no-block etcd
wait_for status join
promote_if_learner
wait_for health promotion
echo "etcd on etcd2 joined the running cluster and is a voting member"
