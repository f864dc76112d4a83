#!/bin/bash
# Installs etcd on dcs1 without letting the package start a cluster of its own.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
install_packages() {
    dnf install -y -q "$@"
}
dnf install -y -q dnf-plugins-core epel-release
dnf config-manager --set-enabled crb
rpm -q pgdg-redhat-repo >/dev/null || dnf install -y -q https://download.postgresql.org/pub/repos/yum/reporpms/EL-9-x86_64/pgdg-redhat-repo-latest.noarch.rpm
dnf config-manager --set-enabled pgdg-rhel9-extras
dnf -qy module disable postgresql
install_packages etcd curl openssl
# The package starts a one-node cluster at once. Until this project has written its configuration,
# that cluster and its data are the package's, not ours: stop it and clear its data.
if ! grep -qs 'Managed by pulumi-patroni' '/etc/etcd/etcd.conf'; then
    systemctl stop etcd 2>/dev/null || true
    systemctl disable etcd 2>/dev/null || true
    rm -rf '/var/lib/etcd/default'
fi
install -d -o etcd -g etcd -m 0700 '/var/lib/etcd/default'
etcd --version | sed -n 1p
