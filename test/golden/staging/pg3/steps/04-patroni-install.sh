#!/bin/bash
# Installs PostgreSQL 16 and Patroni on pg3, prepares the watchdog.
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
install_packages postgresql-16 patroni python3-etcd curl postgresql-client openssl
# postgresql-common creates and starts a cluster "main"; Patroni must own the data directory. (grep
# without -q reads all: stopping at the first match could fail the pipeline with SIGPIPE under pipefail.)
if [ ! -f '/etc/patroni/config.yml' ] && pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -x '16 main' >/dev/null; then
    pg_dropcluster --stop 16 main
fi
# The postgres user's home may be a freshly mounted data volume, owned by root.
chown postgres:postgres '/var/lib/postgresql'
install -d -o postgres -g postgres -m 0700 "$(dirname '/var/lib/postgresql/16/main')"
install -d -o postgres -g postgres -m 0750 "$(dirname '/etc/patroni/config.yml')"

# Watchdog: Patroni stops a hung primary through /dev/watchdog before another member promotes.
# softdog loads at every boot, also where it cannot be loaded now (a kernel updated but not yet booted).
install -d /etc/modules-load.d
echo softdog > /etc/modules-load.d/softdog.conf
if [ ! -e /dev/watchdog ] && ! modprobe softdog 2>/dev/null; then
    echo "softdog could not be loaded (no kernel modules here); watchdog mode is required" >&2
fi
install -d /etc/udev/rules.d
echo 'KERNEL=="watchdog", OWNER="postgres", GROUP="postgres", MODE="0600"' > /etc/udev/rules.d/61-patroni-watchdog.rules
if [ -e /dev/watchdog ]; then
    chown postgres:postgres /dev/watchdog
else
    echo "patroni.watchdog is required (the default) but pg3 has no /dev/watchdog (softdog did not load)." >&2
    echo "Fix: give the host a kernel that can load softdog, or set patroni.watchdog: automatic to run Patroni unfenced (a frozen primary is then not reset)." >&2
    exit 1
fi
patroni --version
