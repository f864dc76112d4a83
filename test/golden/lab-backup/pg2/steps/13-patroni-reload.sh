#!/bin/bash
# Applies a changed patroni.yml on pg2 with a reload: Patroni applies what it can live (pg_hba
# too). A member not running yet is started by its start step, after every member has reloaded.
# Applies (a change to any of these files re-runs this step):
#   /etc/patroni/config.yml sha256:3ed342cd591ebdeb664f3c9d5d23ca918d1e53a5c87666df4755d1144e492701
#   /etc/systemd/system/patroni.service.d/pulumi-patroni.conf sha256:d0f1dbb8a776fdffa679b761453a203a92c4934569900e6bb2dba5ebacd6c6c9
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
if ! systemctl is-active --quiet patroni; then
    echo "patroni not running on pg2 yet: its start step starts it"
    exit 0
fi
systemctl reload patroni
echo "patroni reloaded on pg2"
# Patroni takes a new REST API certificate on a reload only when patroni.yml did not change with it
# (__main__.py reload_config: `if local or sighup and self.api.reload_local_certificate()`, 3.0.2 to
# 4.x): until the REST API serves the certificate on disk, reload again (patroni.yml unchanged by then).
want=$(openssl x509 -noout -serial -in '/etc/patroni/tls/host.crt')
served=""
for i in $(seq 1 60); do
    served=$(openssl s_client -connect 10.251.17.22:8008 </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null || true)
    if [ "$served" = "$want" ]; then
        echo "the REST API on pg2 serves its certificate ($want)"
        exit 0
    fi
    if (( i % 5 == 0 )); then systemctl reload patroni; fi
    sleep 1
done
echo "the REST API on pg2 still serves ${served:-no certificate} after 60 s, not its certificate $want (/etc/patroni/tls/host.crt)" >&2
log_tail patroni
exit 1
