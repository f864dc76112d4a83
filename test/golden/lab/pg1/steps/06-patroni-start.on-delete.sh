#!/bin/bash
# Runs when the step that started patroni on pg1 is deleted (`pulumi destroy`, or the
# host left the cluster): stop and disable them, then move the data directory aside — kept,
# never deleted, so nothing is lost and a later deployment on this host starts clean. Safe to run twice.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
units=('patroni' )
for unit in "${units[@]}"; do
    if systemctl cat "$unit.service" >/dev/null 2>&1; then
        systemctl disable --now "$unit" >/dev/null 2>&1 || systemctl stop "$unit"
        echo "$unit stopped and disabled on pg1"
    fi
done
# Patroni stops PostgreSQL when it stops; make sure no postmaster outlives it.
if [ -f '/var/lib/postgresql/17/main'/postmaster.pid ] && runuser -u postgres -- '/usr/lib/postgresql/17/bin'/pg_ctl -D '/var/lib/postgresql/17/main' status >/dev/null 2>&1; then
    runuser -u postgres -- '/usr/lib/postgresql/17/bin'/pg_ctl -D '/var/lib/postgresql/17/main' stop -m fast -w
fi
if [ -d '/var/lib/postgresql/17/main' ]; then
    aside='/var/lib/postgresql/17/main'.destroyed-$(date -u +%Y%m%dT%H%M%SZ)
    mv '/var/lib/postgresql/17/main' "$aside"
    echo "/var/lib/postgresql/17/main moved aside to $aside on pg1"
fi
