#!/bin/bash
# Starts etcd member etcd1. --no-block: the unit reports ready only at quorum, which needs
# the other members, started at the same time on their own hosts.
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
    echo "etcd already running on etcd1"
else
    systemctl start --no-block etcd
    echo "etcd starting on etcd1"
fi
