#!/bin/bash
# Creates or updates application roles and databases on the primary, found among the Patroni
# members by libpq itself (target_session_attrs=read-write): it works behind any front door.
# Standard input: the superuser password on the first line, then the SQL (SCRAM verifiers, no clear passwords).
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
IFS= read -r PGPASSWORD
export PGPASSWORD
psql "host=10.40.0.20,10.40.64.20,10.40.128.20 port=5432,5432,5432 user=postgres dbname=postgres connect_timeout=5 target_session_attrs=read-write" -X -q -v ON_ERROR_STOP=1 -f -
echo "roles and databases in place"
