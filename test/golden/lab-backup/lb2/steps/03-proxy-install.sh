#!/bin/bash
# Installs HAProxy and Keepalived on lb2.
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
install_packages haproxy keepalived curl socat openssl
haproxy -v | sed -n 1p
keepalived --version 2>&1 | sed -n 1p
