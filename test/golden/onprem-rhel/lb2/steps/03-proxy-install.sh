#!/bin/bash
# Installs HAProxy and Keepalived on lb2.
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
install_packages haproxy keepalived curl socat openssl
haproxy -v | sed -n 1p
keepalived --version 2>&1 | sed -n 1p
