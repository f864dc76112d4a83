#!/bin/bash
# Starts etcd member etcd2, or restarts it when its configuration changed. The members' steps
# run one after another: a first start is --no-block (the unit reports ready only at quorum, which
# needs the other members, started right after); a restart waits until this member is healthy again
# before the next member's step may restart that one, so quorum is never lost.
# Applies (a change to any of these files re-runs this step):
#   /etc/default/etcd sha256:359ef7e9eaddf7bc91222aa2052d8fe40efbb708987c6a1fd9713dc552230ef0
#   /etc/systemd/system/etcd.service.d/pulumi-patroni.conf sha256:5caef93bd3b7d6433b910e7d2ea94c6adedba0b40ef0283693cf82cf543e9305
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl daemon-reload
systemctl enable etcd >/dev/null 2>&1
if systemctl is-active --quiet etcd; then
    systemctl restart etcd
    deadline=$((SECONDS + 180))
    until ETCDCTL_API=3 etcdctl --endpoints='http://10.41.64.10:2379' --command-timeout=3s endpoint health >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "etcd on etcd2 is not healthy 180 s after its restart" >&2
            log_tail etcd
            exit 1
        fi
        sleep 1
    done
    echo "etcd restarted on etcd2 and healthy"
else
    systemctl start --no-block etcd
    echo "etcd starting on etcd2"
fi
