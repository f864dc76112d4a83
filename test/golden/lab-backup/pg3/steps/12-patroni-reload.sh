#!/bin/bash
# Applies a changed patroni.yml on pg3 with a reload: Patroni applies what it can live (pg_hba
# too). A member not running yet is started by its start step, after every member has reloaded.
# Applies (a change to any of these files re-runs this step):
#   /etc/patroni/config.yml sha256:1e1be44cae39dd3acb8d2a496498a5816d186e1bef9525b2c8d1d9c28334979d
#   /etc/systemd/system/patroni.service.d/pulumi-patroni.conf sha256:66ed62abba499458e11894b1826210a563648b7c7acc8984f7931fc8525f6034
#   /etc/patroni/tls/ca.crt sha256:509c7267330742b84f3f00ee17d4a9d6d98fd76be8559b48403fced39544ac2d
#   /etc/patroni/tls/host.crt sha256:f33af225296d0e26d08e0a2e820da8091ebd8be7b3441a6ef9821d702cc66c91
#   /etc/patroni/tls/host.key sha256:4be3884a37dcf9e6db0052ce118fd47aa07f7f0b711adc3ba09cc9ea27913e5b
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
if systemctl is-active --quiet patroni; then
    systemctl reload patroni
    echo "patroni reloaded on pg3"
else
    echo "patroni not running on pg3 yet: its start step starts it"
fi
