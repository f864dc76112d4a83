#!/bin/bash
# Applies a changed patroni.yml on pg3 with a reload: Patroni applies what it can live (pg_hba
# too). A member not running yet is started by its start step, after every member has reloaded.
# Applies (a change to any of these files re-runs this step):
#   /etc/patroni/config.yml sha256:cd83bcb930b144169be6182ef2d68f28732085530e64350d63a9762c27d42564
#   /etc/systemd/system/patroni.service.d/pulumi-patroni.conf sha256:d0f1dbb8a776fdffa679b761453a203a92c4934569900e6bb2dba5ebacd6c6c9
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
if ! systemctl is-active --quiet patroni; then
    echo "patroni not running on pg3 yet: its start step starts it"
    exit 0
fi
systemctl reload patroni
echo "patroni reloaded on pg3"
# Patroni takes a new REST API certificate on a reload only when patroni.yml did not change with it
# (__main__.py reload_config: `if local or sighup and self.api.reload_local_certificate()`, 3.0.2 to
# 4.x): until the REST API serves the certificate on disk, reload again (patroni.yml unchanged by then).
want=$(openssl x509 -noout -serial -in '/etc/patroni/tls/host.crt')
served=""
for i in $(seq 1 60); do
    served=$(openssl s_client -connect 10.40.128.20:8008 </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null || true)
    if [ "$served" = "$want" ]; then
        echo "the REST API on pg3 serves its certificate ($want)"
        exit 0
    fi
    if (( i % 5 == 0 )); then systemctl reload patroni; fi
    sleep 1
done
echo "the REST API on pg3 still serves ${served:-no certificate} after 60 s, not its certificate $want (/etc/patroni/tls/host.crt)" >&2
log_tail patroni
exit 1
