#!/bin/bash
# Writes /etc/keepalived/keepalived.conf from standard input: checked by its own tool first, then moved into place
# atomically, so a bad file never replaces a good one. Safe to run again.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
target='/etc/keepalived/keepalived.conf'
install -d -m 0755 "$(dirname "$target")"
umask 077
tmp=$(mktemp "$(dirname "$target")/.pulumi-patroni.XXXXXX")
trap 'rm -f "$tmp" "$tmp.check"' EXIT
cat > "$tmp"
keepalived -t -f "$tmp" || { echo "keepalived -t rejected /etc/keepalived/keepalived.conf" >&2; exit 1; }
chown 'root:root' "$tmp"
chmod 0644 "$tmp"
if cmp -s "$tmp" "$target"; then
    echo "$target unchanged"
else
    mv -f "$tmp" "$target"
    echo "$target written"
fi
