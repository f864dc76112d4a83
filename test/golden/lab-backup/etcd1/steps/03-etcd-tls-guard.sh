#!/bin/bash
# Before etcd member etcd1's configuration is written with TLS: a member that already runs
# without it is refused. Moving a running cluster to TLS needs every member's peer URL changed while
# both listeners serve; a plain rolling restart would cut this member off from its peers.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
config='/etc/default/etcd'
if [ -f "$config" ] && grep -q '^ETCD_LISTEN_PEER_URLS="http://' "$config"; then
    echo "etcd on etcd1 runs without TLS ($config listens for peers on http://), and this deployment has tls.enabled on (the default)." >&2
    echo "Turning TLS on for a running cluster is not supported: no host's configuration, certificate or key was changed. Fix: set tls.enabled: false for this stack (TLS is for clusters created with it)." >&2
    exit 1
fi
echo "etcd on etcd1: no plain-text member to move"
