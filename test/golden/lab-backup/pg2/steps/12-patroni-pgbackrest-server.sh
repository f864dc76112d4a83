#!/bin/bash
# Starts pgBackRest's TLS server on pg2, or restarts it when its files changed (it reads them
# at start), then waits until it accepts connections. The repository host takes this member's backups through it.
# Applies (a change to any of these files re-runs this step):
#   /etc/pgbackrest/pgbackrest.conf sha256:39072bf2f894bc2656b4050aac267bc904b664a2e6f46b66e7d5ee2bac90fcf1
#   /etc/systemd/system/pgbackrest.service sha256:1c0c3707b774847145728a6ddac26cffc750ec043bdbe50c5519ca7608268ba6
#   /etc/patroni/tls/ca.crt sha256:4c5345030ee1b0da4ba1139f422ee1597c03cac84b52714a366ff5bc5011a435
#   /etc/patroni/tls/host.crt sha256:4a80d0964403021a27447127261ccd6e34b9fc6e88e6b41c3eca3974f5069c25
#   /etc/patroni/tls/host.key sha256:fbe75220a1652f4a0dbda805a10f8a89945f593e606050e6c33aec9d59472777
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
    echo "pgbackrest restarted on pg2"
else
    systemctl start pgbackrest || { log_tail pgbackrest; exit 1; }
    echo "pgbackrest started on pg2"
fi
deadline=$((SECONDS + 60))
until runuser -u postgres -- '/usr/bin/pgbackrest' server-ping '10.251.17.22' --tls-server-port=8432 >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "pgBackRest's TLS server does not answer on 10.251.17.22:8432 after 60 s" >&2
        log_tail pgbackrest
        exit 1
    fi
    sleep 1
done
echo "pgBackRest's TLS server answers on 10.251.17.22:8432"
