#!/bin/bash
# Starts pgBackRest's TLS server on pg1, or restarts it when its files changed (it reads them
# at start), then waits until it accepts connections. The repository host takes this member's backups through it.
# Applies (a change to any of these files re-runs this step):
#   /etc/pgbackrest/pgbackrest.conf sha256:496dd0e93493db45fe8999b74ee3ed2f7a1606bc43e1e4649393bbd7c1484e2a
#   /etc/systemd/system/pgbackrest.service sha256:89831912d93bc9512f3ea27fd9c49af4a46a069aaa5e7712d71c4cfacbdad8ec
#   /etc/patroni/tls/ca.crt sha256:4c5345030ee1b0da4ba1139f422ee1597c03cac84b52714a366ff5bc5011a435
#   /etc/patroni/tls/host.crt sha256:b9c4d92644106e80ca8447fba28cbc2efec8bbe1b0b783a279aa34b5dec2e9b0
#   /etc/patroni/tls/host.key sha256:b8ce81f991306cbffac008e28e49fa2fec055332764f01e19439249011294479
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
    echo "pgbackrest restarted on pg1"
else
    systemctl start pgbackrest || { log_tail pgbackrest; exit 1; }
    echo "pgbackrest started on pg1"
fi
deadline=$((SECONDS + 60))
until runuser -u postgres -- '/usr/bin/pgbackrest' server-ping '10.251.17.21' --tls-server-port=8432 >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "pgBackRest's TLS server does not answer on 10.251.17.21:8432 after 60 s" >&2
        log_tail pgbackrest
        exit 1
    fi
    sleep 1
done
echo "pgBackRest's TLS server answers on 10.251.17.21:8432"
