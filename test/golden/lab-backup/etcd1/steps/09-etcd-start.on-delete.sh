#!/bin/bash
# Runs when the step that started etcd on etcd1 is deleted (`pulumi destroy`, or the
# host left the cluster): stop and disable them, then move the data directory aside — kept, never deleted, so nothing is
# lost and a later deployment on this host starts clean. Safe to run twice.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
units=('etcd' )
for unit in "${units[@]}"; do
    if systemctl cat "$unit.service" >/dev/null 2>&1; then
        systemctl disable --now "$unit" >/dev/null 2>&1 || systemctl stop "$unit"
        echo "$unit stopped and disabled on etcd1"
    fi
done
rm -f '/etc/default/etcd-join'
if [ -d '/var/lib/etcd/default' ]; then
    aside='/var/lib/etcd/default'.destroyed-$(date -u +%Y%m%dT%H%M%SZ)
    mv '/var/lib/etcd/default' "$aside"
    echo "/var/lib/etcd/default moved aside to $aside on etcd1"
fi
