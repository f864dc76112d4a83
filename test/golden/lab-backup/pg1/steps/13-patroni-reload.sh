#!/bin/bash
# Applies a changed patroni.yml on pg1 with a reload: Patroni applies what it can live (pg_hba
# too). A member not running yet is started by its start step, after every member has reloaded.
# Applies (a change to any of these files re-runs this step):
#   /etc/patroni/config.yml sha256:d284139ee9023b9b89d7fe2f376f6049a9cd07224d2707556e35d901338286b4
#   /etc/systemd/system/patroni.service.d/pulumi-patroni.conf sha256:66ed62abba499458e11894b1826210a563648b7c7acc8984f7931fc8525f6034
#   /etc/patroni/tls/ca.crt sha256:509c7267330742b84f3f00ee17d4a9d6d98fd76be8559b48403fced39544ac2d
#   /etc/patroni/tls/host.crt sha256:b9c4d92644106e80ca8447fba28cbc2efec8bbe1b0b783a279aa34b5dec2e9b0
#   /etc/patroni/tls/host.key sha256:b8ce81f991306cbffac008e28e49fa2fec055332764f01e19439249011294479
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
if systemctl is-active --quiet patroni; then
    systemctl reload patroni
    echo "patroni reloaded on pg1"
else
    echo "patroni not running on pg1 yet: its start step starts it"
fi
