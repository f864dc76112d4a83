#!/bin/bash
# Applies a changed patroni.yml on pg1 with a reload: Patroni applies what it can live (pg_hba
# too). A member not running yet is started by its start step, after every member has reloaded.
# Applies (a change to any of these files re-runs this step):
#   /etc/patroni/config.yml sha256:8cce6501b00c6ff4fc16b201060af7b657343765ce9ddead46c78f1be10c62d3
#   /etc/systemd/system/patroni.service.d/pulumi-patroni.conf sha256:d0f1dbb8a776fdffa679b761453a203a92c4934569900e6bb2dba5ebacd6c6c9
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
