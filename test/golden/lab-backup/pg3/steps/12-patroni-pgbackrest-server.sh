#!/bin/bash
# Starts pgBackRest's TLS server on pg3, or restarts it when its files changed (it reads them
# at start), then waits until it accepts connections. The repository host takes this member's backups through it.
# Applies (a change to any of these files re-runs this step):
#   /etc/pgbackrest/pgbackrest.conf sha256:78fc16004cadee85bfc1af61ae810040623cc6ed16339926c87f8159625928d6
#   /etc/systemd/system/pgbackrest.service sha256:e468e4ebb43ec25bd96c04a77546a48f34d5d3482d5b80f54480895d0ab9699d
#   /etc/patroni/tls/ca.crt sha256:4c5345030ee1b0da4ba1139f422ee1597c03cac84b52714a366ff5bc5011a435
#   /etc/patroni/tls/host.crt sha256:f33af225296d0e26d08e0a2e820da8091ebd8be7b3441a6ef9821d702cc66c91
#   /etc/patroni/tls/host.key sha256:4be3884a37dcf9e6db0052ce118fd47aa07f7f0b711adc3ba09cc9ea27913e5b
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl daemon-reload
systemctl enable pgbackrest >/dev/null 2>&1
if systemctl is-active --quiet pgbackrest; then
    systemctl restart pgbackrest
    echo "pgbackrest restarted on pg3"
else
    systemctl start pgbackrest || { log_tail pgbackrest; exit 1; }
    echo "pgbackrest started on pg3"
fi
deadline=$((SECONDS + 60))
until runuser -u postgres -- '/usr/bin/pgbackrest' server-ping '10.251.17.23' --tls-server-port=8432 >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "pgBackRest's TLS server does not answer on 10.251.17.23:8432 after 60 s" >&2
        log_tail pgbackrest
        exit 1
    fi
    sleep 1
done
echo "pgBackRest's TLS server answers on 10.251.17.23:8432"
