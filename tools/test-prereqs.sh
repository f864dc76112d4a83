#!/usr/bin/env bash
# `npm test`'s first step: the Debian packages the real-tool tests run (haproxy -c, keepalived -t,
# patroni --validate-config with its etcd module and PostgreSQL 15's binaries, shellcheck, pgBackRest
# and systemd-analyze for the backup files, a throwaway sshd, psql, curl). Missing ones are installed when run as root, saying which; otherwise
# it stops at once with the one command to run. On a machine that has them all it prints nothing.
set -euo pipefail

# command or file that proves it is there | Debian package
readonly NEEDS=(
    "haproxy|haproxy"
    "keepalived|keepalived"
    "patroni|patroni"
    "python3-etcd|python3-etcd"
    "shellcheck|shellcheck"
    "pgbackrest|pgbackrest"
    "systemd-analyze|systemd"
    "/usr/lib/postgresql/15/bin/postgres|postgresql-15"
    "psql|postgresql-client"
    "/usr/sbin/sshd|openssh-server"
    "ssh|openssh-client"
    "curl|curl"
)

present() {
    case "$1" in
        /*) [[ -x "$1" ]] ;;
        python3-etcd) /usr/bin/python3 -c 'import etcd' >/dev/null 2>&1 ;; # Patroni's interpreter
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

missing=()
for need in "${NEEDS[@]}"; do
    present "${need%%|*}" || missing+=("${need##*|}")
done
((${#missing[@]} == 0)) && exit 0

if [[ $EUID -ne 0 ]]; then
    echo "npm test needs these Debian packages for its real-tool tests: ${missing[*]}" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}   (then npm test again)" >&2
    exit 1
fi
echo "npm test: installing the Debian packages its real-tool tests need: ${missing[*]}" >&2
# postgresql-15 would create and start a cluster "main"; the tests need only its binaries.
install -d /etc/postgresql-common
grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
    echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
