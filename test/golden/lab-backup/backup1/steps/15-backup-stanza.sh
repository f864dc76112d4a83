#!/bin/bash
# Gate: the stanza lab exists in the repository and WAL archiving works. It runs on the repository host, which
# reaches every member's pgBackRest server and finds the primary itself: stanza-create (idempotent),
# then `pgbackrest check`, which switches WAL on the primary and waits until the segment is archived.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
pgbackrest() { runuser -u postgres -- '/usr/bin/pgbackrest' --stanza='lab' "$@"; }
deadline=$((SECONDS + 300))
# Retried until the deadline: right after a switchover the primary may still be changing, and the
# first segments may still be queued.
retry() {
    local out
    until out=$("$@" 2>&1); do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$* failed for 300 s on backup1:" >&2
            echo "$out" >&2
            exit 1
        fi
        sleep 3
    done
    echo "$out" | tail -n 3
}
# Until a first full backup exists nothing can be restored and no member can be created from the
# repository: the stanza's creator starts one (in the background through the schedule's unit, as a
# large database's backup outlasts any gate) when the repository has none.
first_full_backup() {
    local count
    count=$(pgbackrest --output=json info | python3 -c 'import json, sys; print(sum(len(s.get("backup", [])) for s in json.load(sys.stdin)))')
    if [ "$count" = 0 ]; then
        systemctl start --no-block pgha-backup@full.service
        echo "the repository has no backup yet: the first full backup started (pgha-backup@full.service on backup1)"
    fi
}
retry pgbackrest --log-level-console=info stanza-create
retry pgbackrest --log-level-console=info check
echo "stanza lab created and checked"
first_full_backup
