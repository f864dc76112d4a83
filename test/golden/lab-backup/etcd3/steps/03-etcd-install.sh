#!/bin/bash
# Installs etcd on etcd3 without letting the package start a cluster of its own.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o Dpkg::Options::=--force-confold -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300)
install_packages() {
    local attempt
    for attempt in 1 2 3; do
        if apt-get "${apt_opts[@]}" install --no-install-recommends "$@"; then return 0; fi
        echo "apt-get install failed (attempt ${attempt}); refreshing the package index" >&2
        apt-get "${apt_opts[@]}" update || true
    done
    return 1
}
# Refresh the index once a day at most, so that a re-run does not hit the mirror again.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit 2>/dev/null)" ]; then
    apt-get "${apt_opts[@]}" update
fi
install_packages etcd-server etcd-client curl openssl
# The package starts a one-node cluster at once. Until this project has written its configuration,
# that cluster and its data are the package's, not ours: stop it and clear its data.
if ! grep -qs 'Managed by pulumi-patroni' '/etc/default/etcd'; then
    systemctl stop etcd 2>/dev/null || true
    systemctl disable etcd 2>/dev/null || true
    rm -rf '/var/lib/etcd/default'
fi
install -d -o etcd -g etcd -m 0700 '/var/lib/etcd/default'
etcd --version | sed -n 1p
