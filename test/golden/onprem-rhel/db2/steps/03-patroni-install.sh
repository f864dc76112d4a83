#!/bin/bash
# Installs PostgreSQL 16 and Patroni on db2, prepares the watchdog.
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
install_packages postgresql16-server postgresql16-contrib patroni patroni-etcd curl openssl
# The postgres user's home may be a freshly mounted data volume, owned by root.
chown postgres:postgres '/var/lib/pgsql'
install -d -o postgres -g postgres -m 0700 "$(dirname '/var/lib/pgsql/16/data')"
install -d -o postgres -g postgres -m 0750 "$(dirname '/etc/patroni/patroni.yml')"

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
    echo "patroni.watchdog is required (the default) but db2 has no /dev/watchdog (softdog did not load)." >&2
    echo "Fix: give the host a kernel that can load softdog, or set patroni.watchdog: automatic to run Patroni unfenced (a frozen primary is then not reset)." >&2
    exit 1
fi
patroni --version
