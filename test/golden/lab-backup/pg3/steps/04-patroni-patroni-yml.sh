#!/bin/bash
# Writes /etc/patroni/config.yml from standard input: checked by its own tool first, then moved into place
# atomically, so a bad file never replaces a good one. Safe to run again.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
target='/etc/patroni/config.yml'
install -d -m 0755 "$(dirname "$target")"
umask 077
tmp=$(mktemp "$(dirname "$target")/.pulumi-patroni.XXXXXX")
trap 'rm -f "$tmp" "$tmp.check"' EXIT
cat > "$tmp"
# patroni --validate-config binds the listen addresses to check them; a running Patroni holds
# them, so validate a copy that listens on loopback instead.
python3 - "$tmp" "$tmp.check" <<'PY'
import sys, yaml
with open(sys.argv[1]) as f:
    config = yaml.safe_load(f)
for section in ("restapi", "postgresql"):
    port = str(config[section]["listen"]).rsplit(":", 1)[1]
    config[section]["listen"] = "127.0.0.1:" + port
with open(sys.argv[2], "w") as f:
    yaml.safe_dump(config, f)
PY
if ! out=$(patroni --validate-config "$tmp.check" 2>&1); then
    echo "patroni --validate-config rejected /etc/patroni/config.yml:" >&2
    echo "$out" >&2
    exit 1
fi
chown 'postgres:postgres' "$tmp"
chmod 0600 "$tmp"
if cmp -s "$tmp" "$target"; then
    echo "$target unchanged"
else
    mv -f "$tmp" "$target"
    echo "$target written"
fi
