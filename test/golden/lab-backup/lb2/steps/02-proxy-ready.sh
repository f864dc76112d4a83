#!/bin/bash
# Waits until the machine can take package installs: cloud-init finished (where present) and
# no other package manager run holding the lock. Refuses a machine that runs another release than
# the cluster's `os`: a running cluster is never moved between releases by changing a setting.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
# shellcheck disable=SC1091
. /etc/os-release
case "${VERSION_ID:-}" in
    13|13.*) release_ok=${ID:-} ;;
    *) release_ok= ;;
esac
if [ "$release_ok" != 'debian' ]; then
    echo "cluster.os: $(hostname) runs ${PRETTY_NAME:-an unknown release}, not debian13 (got debian13)." >&2
    echo "Fix: set cluster.os to the release these hosts run. A running cluster is moved to another release by replacing its hosts one at a time, never by changing os in place." >&2
    exit 1
fi
deadline=$((SECONDS + 600))
if command -v cloud-init >/dev/null 2>&1; then
    # Exit 2 is "done, with recoverable errors" (warnings, deprecated keys; cloud-init 23.4 and
    # later): the machine is up. Only 1 (a critical error) and the timeout are failures.
    status=0
    timeout "600" cloud-init status --wait >/dev/null || status=$?
    case "$status" in
        0 | 2) ;;
        124)
            echo "cloud-init did not finish within 600 s on $(hostname)" >&2
            exit 1
            ;;
        *)
            echo "cloud-init failed on $(hostname) (cloud-init status exited $status): $(cloud-init status --long 2>&1 | tr '\n' ';')" >&2
            exit 1
            ;;
    esac
fi
if command -v systemctl >/dev/null 2>&1; then
    until systemctl is-system-running --quiet 2>/dev/null || [ "$(systemctl is-system-running 2>/dev/null)" = degraded ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "systemd did not finish booting within 600 s on $(hostname): $(systemctl --failed --no-legend | tr '\n' ';')" >&2
            exit 1
        fi
        sleep 1
    done
fi
echo "$(hostname) ready: $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"')"
