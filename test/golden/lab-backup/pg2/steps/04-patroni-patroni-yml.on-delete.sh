#!/bin/bash
# Runs when the step that wrote /etc/patroni/config.yml is deleted (`pulumi destroy`, or the file is no longer part of the
# deployment): remove it. Safe to run twice.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
rm -f '/etc/patroni/config.yml'
echo "/etc/patroni/config.yml removed"
