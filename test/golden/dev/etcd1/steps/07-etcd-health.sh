#!/bin/bash
# Gate: every etcd member answers healthy and the cluster has a leader, within 180 s.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
endpoints='http://10.40.0.10:2379,http://10.40.64.10:2379,http://10.40.128.10:2379'
deadline=$((SECONDS + 180))
until out=$(ETCDCTL_API=3 etcdctl --endpoints="$endpoints" --command-timeout=3s endpoint health 2>&1); do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "etcd is not healthy on every member after 180 s:" >&2
        echo "$out" >&2
        log_tail etcd
        exit 1
    fi
    sleep 1
done
echo "$out"
ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint status -w table
