#!/bin/bash
# Gate: the VIP answers and 10.251.17.50:5000 reaches a primary (pg_is_in_recovery() is false).
# The superuser password arrives on standard input, never on the command line.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
# The cluster runs TLS, and this member holds its certificate. libpq verifies every server against
# the cluster's CA and the address it dialled; curl verifies Patroni's REST API the same way and
# presents this member's certificate (the endpoints that change state want one).
export PGSSLMODE=verify-full PGSSLROOTCERT='/etc/patroni/tls/ca.crt'
export REST_API_CA='/etc/patroni/tls/ca.crt' REST_API_CERT='/etc/patroni/tls/host.crt' REST_API_KEY='/etc/patroni/tls/host.key'
curl() { command curl --cacert "$REST_API_CA" --cert "$REST_API_CERT" --key "$REST_API_KEY" "$@"; }
IFS= read -r PGPASSWORD
export PGPASSWORD
conninfo="host=10.251.17.50 port=5000 user=postgres dbname=postgres connect_timeout=3"
# Several answers in a row, a check interval apart: right after HAProxy (re)starts, a member's
# health is not known yet, and one lucky answer proves nothing.
deadline=$((SECONDS + 120))
streak=0
while [ "$streak" -lt 4 ]; do
    if answer=$(psql "$conninfo" -XAtc 'select pg_is_in_recovery()' 2>&1) && [ "$answer" = f ]; then
        streak=$((streak + 1))
    else
        streak=0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "10.251.17.50:5000 did not reach a primary 4 times in a row within 120 s: $answer" >&2
        exit 1
    fi
    sleep 1
done
echo "10.251.17.50:5000 reaches the primary"
