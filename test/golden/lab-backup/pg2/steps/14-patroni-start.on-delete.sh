#!/bin/bash
# Runs when the step that started patroni on pg2 is deleted (`pulumi destroy`, or the
# host left the cluster): stop and disable them, then move the data directory aside — kept, never deleted, so nothing is
# lost and a later deployment on this host starts clean. Safe to run twice.
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
# A member leaving a running cluster: the leader hands over first (a switchover to a healthy member,
# Patroni's choice), so writes move with one switchover's gap instead of a failover's. The last member
# (a destroy) just stops. The balancers have already stopped sending it traffic (their configuration
# no longer lists it: updates run before deletes).
patronictl=(patronictl -c '/etc/patroni/config.yml')
remaining=""
deadline=$((SECONDS + 300))
if systemctl is-active --quiet 'patroni'; then
    role() { curl -s --max-time 3 'https://10.251.17.22:8008'/patroni | python3 -c 'import json, sys; print(json.load(sys.stdin).get("role", ""))' 2>/dev/null || true; }
    others() {
        "${patronictl[@]}" list -f json 2>/dev/null | python3 -c '
import json, sys
print(" ".join(m["Member"] for m in json.load(sys.stdin) if m["Member"] != sys.argv[1] and m.get("State") in ("running", "streaming")))' 'pg2' || true
    }
    remaining=$(others)
    if [[ "$(role)" =~ ^(master|primary)$ ]]; then
        if [ -n "$remaining" ]; then
            # The handover step normally did this before the balancers dropped this member; this is
            # for a leader still in place (e.g. a destroy). Bounded: a graceful stop of the leader
            # hands over as well (Patroni releases the leader key when a replica can take over).
            handover_deadline=$((SECONDS + 60))
            until "${patronictl[@]}" switchover --leader 'pg2' --force >/dev/null 2>&1 && [[ ! "$(role)" =~ ^(master|primary)$ ]]; do
                if [ "$SECONDS" -ge "$handover_deadline" ]; then
                    echo "pg2 leads and no switchover succeeded within 60 s: stopping it (Patroni hands over on a graceful stop when a replica can take over)"
                    break
                fi
                sleep 2
            done
            [[ "$(role)" =~ ^(master|primary)$ ]] || echo "pg2 handed over the leader role"
        else
            echo "pg2 is the last running member: stopped without a switchover"
        fi
    fi
fi
units=('patroni' )
for unit in "${units[@]}"; do
    if systemctl cat "$unit.service" >/dev/null 2>&1; then
        systemctl disable --now "$unit" >/dev/null 2>&1 || systemctl stop "$unit"
        echo "$unit stopped and disabled on pg2"
    fi
done
if [ -n "$remaining" ]; then
    # The member left a running cluster: its replication slot goes (else the primary keeps WAL for it).
    # Patroni drops it once the member's key has expired; Patroni 4 keeps slots of absent members
    # for member_slots_ttl (30 min by default) more, so that one is set to 0 until the slot is gone.
    slot='pg2'
    PGPASSWORD=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["postgresql"]["authentication"]["superuser"]["password"])' '/etc/patroni/config.yml')
    export PGPASSWORD
    slot_on_leader() {
        local leader
        leader=$("${patronictl[@]}" list -f json 2>/dev/null | python3 -c 'import json, sys; print(next((m["Host"].split(":")[0] for m in json.load(sys.stdin) if m["Role"] == "Leader"), ""))' || true)
        [ -n "$leader" ] || { echo "?"; return; }
        psql -h "$leader" -p 5432 -U 'postgres' -d postgres -XAtc "select count(*) from pg_replication_slots where slot_name = '$slot'" 2>/dev/null || echo "?"
    }
    restore=""
    if [ "$(patroni --version | awk '{ split($2, v, "."); print v[1] }')" -ge 4 ]; then
        restore=$("${patronictl[@]}" show-config | python3 -c 'import sys, yaml; v = (yaml.safe_load(sys.stdin) or {}).get("member_slots_ttl"); print("null" if v is None else v)')
        "${patronictl[@]}" edit-config -s member_slots_ttl=0 --force >/dev/null
    fi
    until [ "$(slot_on_leader)" = 0 ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "warning: the primary still has replication slot $slot 300 s after pg2 stopped (drop it once no member uses it)" >&2
            break
        fi
        sleep 2
    done
    if [ -n "$restore" ]; then "${patronictl[@]}" edit-config -s "member_slots_ttl=$restore" --force >/dev/null; fi
    echo "replication slot $slot of pg2 dropped on the primary"
fi
# Patroni stops PostgreSQL when it stops; make sure no postmaster outlives it.
if [ -f '/var/lib/postgresql/17/main'/postmaster.pid ] && runuser -u postgres -- '/usr/lib/postgresql/17/bin'/pg_ctl -D '/var/lib/postgresql/17/main' status >/dev/null 2>&1; then
    runuser -u postgres -- '/usr/lib/postgresql/17/bin'/pg_ctl -D '/var/lib/postgresql/17/main' stop -m fast -w
fi
if [ -d '/var/lib/postgresql/17/main' ]; then
    aside='/var/lib/postgresql/17/main'.destroyed-$(date -u +%Y%m%dT%H%M%SZ)
    mv '/var/lib/postgresql/17/main' "$aside"
    echo "/var/lib/postgresql/17/main moved aside to $aside on pg2"
fi
