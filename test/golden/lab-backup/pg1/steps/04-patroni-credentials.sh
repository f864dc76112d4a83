#!/bin/bash
# Brings the passwords of the roles Patroni logs in with (postgres, replicator,
# rewind_user) to the spec's, on the primary, before any member's patroni.yml carries them: Patroni
# and the replicas keep the connections they have, and their next ones (after the reload that
# follows) use the new passwords, which PostgreSQL already accepts. Nothing is ever locked out: the
# step logs in with the new superuser password, or with the one this host's patroni.yml still holds.
# On a cluster that does not exist yet (no member's Patroni answers and no data directory here)
# there is nothing to change: Patroni creates the roles with these passwords when it bootstraps.
# Standard input: the new superuser password on the first line, then the SQL (SCRAM verifiers only).
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
# The PostgreSQL servers of every member the cluster has now, as libpq's multi-host list: the stack's
# members, and any member Patroni still knows (a member that leaves the stack may still lead until its
# own step hands over; one that joins may not run yet).
members_conninfo() {
    local url found
    for url in https://10.251.17.21:8008 https://10.251.17.22:8008 https://10.251.17.23:8008; do
        if found=$(curl -s --max-time 3 "$url/cluster" | python3 -c '
import json, sys
hosts, ports = sys.argv[1].split(","), sys.argv[2].split(",")
for m in json.load(sys.stdin).get("members", []):
    if m.get("host") and m["host"] not in hosts:
        hosts.append(m["host"]); ports.append(str(m.get("port", ports[0])))
print("host=%s port=%s" % (",".join(hosts), ",".join(ports)))' '10.251.17.21,10.251.17.22,10.251.17.23' '5432,5432,5432' 2>/dev/null) && [ -n "$found" ]; then
            echo "$found"
            return
        fi
    done
    echo "host=10.251.17.21,10.251.17.22,10.251.17.23 port=5432,5432,5432"
}
IFS= read -r new_password
sql=$(cat)

answering=""
for url in https://10.251.17.21:8008 https://10.251.17.22:8008 https://10.251.17.23:8008; do
    if curl -s -o /dev/null --max-time 3 "$url/patroni"; then answering=$url; break; fi
done
if [ -z "$answering" ]; then
    if [ -f "/var/lib/postgresql/17/main/PG_VERSION" ]; then
        echo "Patroni answers on no member (https://10.251.17.21:8008 https://10.251.17.22:8008 https://10.251.17.23:8008), but $(hostname) holds a database in /var/lib/postgresql/17/main: a password change needs the running primary. Fix: start the cluster (systemctl start patroni on its members), then run the deployment again." >&2
        exit 1
    fi
    echo "no cluster yet: Patroni creates postgres, replicator and rewind_user with these passwords when it bootstraps"
    exit 0
fi

# The superuser password the members run with now: this host's patroni.yml (before it is rewritten).
old_password=""
if [ -f "/etc/patroni/config.yml" ]; then
    old_password=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["postgresql"]["authentication"]["superuser"]["password"])' "/etc/patroni/config.yml")
fi

conninfo="$(members_conninfo) user=postgres dbname=postgres connect_timeout=5 target_session_attrs=read-write"
deadline=$((SECONDS + 300))
while :; do
    for candidate in "$new_password" "$old_password"; do
        [ -n "$candidate" ] || continue
        if PGPASSWORD=$candidate psql "$conninfo" -X -q -A -t -c "select 1" >/dev/null 2>&1; then
            export PGPASSWORD=$candidate
            break 2
        fi
    done
    if [ $SECONDS -ge $deadline ]; then
        echo "no primary accepted postgres with the new password or the one in /etc/patroni/config.yml within 300 s (members 10.251.17.21,10.251.17.22,10.251.17.23). Fix: check the cluster (patronictl -c /etc/patroni/config.yml list); the passwords were not changed." >&2
        exit 1
    fi
    sleep 2
done

psql "$conninfo" -X -q -v ON_ERROR_STOP=1 <<<"$sql"
# PostgreSQL now takes the new superuser password: the files can follow.
PGPASSWORD=$new_password psql "$conninfo" -X -q -A -t -c "select 1" >/dev/null
echo "passwords of postgres, replicator and rewind_user in place on the primary"
