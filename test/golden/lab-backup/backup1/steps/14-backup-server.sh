#!/bin/bash
# Starts pgBackRest's TLS server on backup1, or restarts it when its files changed (it reads them
# at start), then waits until it accepts connections. The members archive WAL, and restore, through it.
# Applies (a change to any of these files re-runs this step):
#   /etc/pgbackrest/pgbackrest.conf sha256:ce4f996c27d5149dd9df3ba777639a6bf079dae10a6825a3fb7b1c4bf7082f76
#   /etc/systemd/system/pgbackrest.service sha256:d9f4f7912dc088a409df1ef3479b6c3f62cb298d703cfacc8d548bcf33646344
#   /etc/pgbackrest/tls/ca.crt sha256:4c5345030ee1b0da4ba1139f422ee1597c03cac84b52714a366ff5bc5011a435
#   /etc/pgbackrest/tls/host.crt sha256:b730610997c6d657d1a56a411aef4cbdda9b15e0c5bd7e1ffee0c99d443cf455
#   /etc/pgbackrest/tls/host.key sha256:f781405f7ad94126fba0dfc3f617526614b431a1cf72cfe0ab8397b68471b948
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
    echo "pgbackrest restarted on backup1"
else
    systemctl start pgbackrest || { log_tail pgbackrest; exit 1; }
    echo "pgbackrest started on backup1"
fi
deadline=$((SECONDS + 60))
until runuser -u postgres -- '/usr/bin/pgbackrest' server-ping '10.251.17.41' --tls-server-port=8432 >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "pgBackRest's TLS server does not answer on 10.251.17.41:8432 after 60 s" >&2
        log_tail pgbackrest
        exit 1
    fi
    sleep 1
done
echo "pgBackRest's TLS server answers on 10.251.17.41:8432"
