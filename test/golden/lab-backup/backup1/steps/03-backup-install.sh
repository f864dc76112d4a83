#!/bin/bash
# Installs pgBackRest on the repository host backup1 and prepares the repository /var/lib/pgbackrest
# (owned by postgres, who runs pgBackRest's TLS server).
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
install_packages pgbackrest openssl
id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/pgbackrest --shell /bin/bash postgres
install -d -o postgres -g postgres -m 0750 '/var/lib/pgbackrest' /var/log/pgbackrest
pgbackrest version
