#!/bin/bash
# Applies a changed patroni.yml on pg2 with a reload: Patroni applies what it can live (pg_hba
# too). A member not running yet is started by its start step, after every member has reloaded.
# Applies (a change to any of these files re-runs this step):
#   /etc/patroni/config.yml sha256:bfd7fd6784ad15b99d7a7455063a46278fdf0749ee983819dfbc1309a0bb94ca
#   /etc/systemd/system/patroni.service.d/pulumi-patroni.conf sha256:66ed62abba499458e11894b1826210a563648b7c7acc8984f7931fc8525f6034
#   /etc/patroni/tls/ca.crt sha256:509c7267330742b84f3f00ee17d4a9d6d98fd76be8559b48403fced39544ac2d
#   /etc/patroni/tls/host.crt sha256:4a80d0964403021a27447127261ccd6e34b9fc6e88e6b41c3eca3974f5069c25
#   /etc/patroni/tls/host.key sha256:fbe75220a1652f4a0dbda805a10f8a89945f593e606050e6c33aec9d59472777
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
if systemctl is-active --quiet patroni; then
    systemctl reload patroni
    echo "patroni reloaded on pg2"
else
    echo "patroni not running on pg2 yet: its start step starts it"
fi
