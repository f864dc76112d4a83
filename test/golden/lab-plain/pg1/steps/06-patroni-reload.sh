#!/bin/bash
# Applies a changed patroni.yml on pg1 with a reload: Patroni applies what it can live (pg_hba
# too). A member not running yet is started by its start step, after every member has reloaded.
# Applies (a change to any of these files re-runs this step):
#   /etc/patroni/config.yml sha256:7471b39e53b28c81472c48da84efabaac93654aa33e5b55cbd412ad7d1b02489
#   /etc/systemd/system/patroni.service.d/pulumi-patroni.conf sha256:66ed62abba499458e11894b1826210a563648b7c7acc8984f7931fc8525f6034
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
if ! systemctl is-active --quiet patroni; then
    echo "patroni not running on pg1 yet: its start step starts it"
    exit 0
fi
systemctl reload patroni
echo "patroni reloaded on pg1"
