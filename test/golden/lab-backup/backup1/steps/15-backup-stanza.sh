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
retry pgbackrest --log-level-console=info stanza-create
retry pgbackrest --log-level-console=info check
echo "stanza lab created and checked"
