#!/bin/bash
# Brings the cluster-wide configuration Patroni keeps in the DCS (ttl, loop_wait, synchronous mode,
# PostgreSQL parameters, ...) to the desired one through the REST API: GET /config, a JSON merge
# patch of what differs (PostgreSQL parameters no longer wanted are removed), PATCH /config. Patroni
# reads bootstrap.dcs only when it creates a cluster, so this is how a change from git reaches a
# running one. Then it waits for every member to apply it and reports who needs a restart.
# The REST API password arrives on standard input. Safe to run again: nothing to patch, nothing done.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
program=$(cat <<'PY'
import base64, json, sys, time, urllib.error, urllib.request

urls, user, desired, owned = sys.argv[1].split(","), sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
password = sys.stdin.readline().rstrip("\n")
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def call(url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Authorization": auth, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def any_member(method, path, body=None, deadline_sec=300):
    """The first member whose REST API answers (any member reads and writes the DCS)."""
    deadline, last = time.monotonic() + deadline_sec, None
    while True:
        for url in urls:
            try:
                return call(url, method, path, body)
            except (urllib.error.URLError, OSError, ValueError) as error:
                last = f"{url}: {error}"
        if time.monotonic() > deadline:
            sys.exit(f"no Patroni REST API answered {method} {path} within {deadline_sec} s; last: {last}")
        time.sleep(1)


def merge_patch(current, wanted, path=()):
    """RFC 7386 patch from current to wanted; under an owned path, keys not wanted are removed (null)."""
    patch = {}
    for key, value in wanted.items():
        have = current.get(key) if isinstance(current, dict) else None
        if isinstance(value, dict) and isinstance(have, dict):
            inner = merge_patch(have, value, path + (key,))
            if inner:
                patch[key] = inner
        elif have != value:
            patch[key] = value
    if list(path) in owned and isinstance(current, dict):
        for key in current:
            if key not in wanted:
                patch[key] = None
    return patch


def paths(patch, prefix=""):
    for key, value in patch.items():
        if isinstance(value, dict) and value:
            yield from paths(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


current = any_member("GET", "/config") or {}
patch = merge_patch(current, desired)
changed = sorted(paths(patch))
if changed:
    any_member("PATCH", "/config", patch)
    print("DCS configuration changed: " + ", ".join(changed))
    # Every member applies it on its next HA loop.
    time.sleep(desired["loop_wait"] + 2)
else:
    print("DCS configuration already as desired")
members = (any_member("GET", "/cluster") or {}).get("members", [])
pending = sorted(m["name"] for m in members if m.get("pending_restart"))
if pending:
    print("pending restart: " + ", ".join(pending))
print(json.dumps({"changed": changed, "pendingRestart": pending}))
PY
)
python3 -c "$program" 'http://10.251.17.21:8008,http://10.251.17.22:8008,http://10.251.17.23:8008' 'patroni' '{"ttl":20,"loop_wait":5,"retry_timeout":7,"maximum_lag_on_failover":1048576,"synchronous_mode":true,"synchronous_mode_strict":false,"synchronous_node_count":1,"failsafe_mode":true,"primary_start_timeout":300,"postgresql":{"use_pg_rewind":true,"use_slots":true,"parameters":{"password_encryption":"scram-sha-256","wal_level":"replica","hot_standby":"on","hot_standby_feedback":"on","max_connections":200,"max_wal_senders":10,"max_replication_slots":10,"wal_keep_size":"1GB","archive_mode":"on","archive_command":"/bin/true","logging_collector":"on","log_directory":"log","log_filename":"postgresql-%a.log","log_truncate_on_rotation":"on","log_line_prefix":"%m [%p] %q%u@%d ","log_min_duration_statement":1000,"log_lock_waits":"on","log_checkpoints":"on","log_connections":"off","track_io_timing":"on","wal_log_hints":"on"}}}' '[["postgresql","parameters"]]'
