#!/bin/bash
# Starts Patroni on pg1. On a fresh cluster the first member to start bootstraps it; on a
# running member a changed patroni.yml is applied with a reload (Patroni applies what it can live;
# pg_hba too).
# Applies (a change to any of these files re-runs this step):
#   /etc/patroni/config.yml sha256:116e43733b2dfce50c181465d079c0019580edb8b12a95c115be330a8e1312e2
#   /etc/systemd/system/patroni.service.d/pulumi-patroni.conf sha256:66ed62abba499458e11894b1826210a563648b7c7acc8984f7931fc8525f6034
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl daemon-reload
systemctl enable patroni >/dev/null 2>&1
if systemctl is-active --quiet patroni; then
    # Running already: make it read a changed patroni.yml (Patroni applies what it can on reload).
    systemctl reload patroni
    echo "patroni reloaded on pg1"
else
    systemctl start patroni
    echo "patroni started on pg1"
fi
