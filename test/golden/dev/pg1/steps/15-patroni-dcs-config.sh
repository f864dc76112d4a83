#!/bin/bash
# Brings the cluster-wide configuration Patroni keeps in the DCS (ttl, loop_wait, synchronous mode,
# PostgreSQL parameters, ...) to the desired one through the REST API: GET /config, a JSON merge
# patch of what differs (PostgreSQL parameters no longer wanted are removed), PATCH /config. Patroni
# reads bootstrap.dcs only when it creates a cluster, so this is how a change from git reaches a
# running one. Then it waits for every member to apply it, and restarts the members that need it
# (pending_restart) so that clients do not notice: replicas one at a time, each back to streaming with
# its lag under the limit before the next; then a switchover to the healthy synchronous standby; then
# the old primary if it still needs it. Lowering a setting that replicas must hold at least as high as
# the primary restarts the primary first (PostgreSQL refuses a hot standby below its primary).
# Every changed PostgreSQL parameter is first checked by PostgreSQL's own parser on this host: a value
# it refuses fails the step before the DCS changes. The REST API password arrives on standard input.
# Safe to run again: nothing to patch, nothing done.
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
program=$(cat <<'PY'
import base64, difflib, json, re, subprocess, sys, time, urllib.error, urllib.request

urls, user, desired, owned = sys.argv[1].split(","), sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
# Replicas must run these at least as high as the primary (PostgreSQL checks it on a hot standby).
AT_LEAST_PRIMARY = ("max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions", "max_locks_per_transaction")
member_url = dict(zip(json.loads(sys.argv[5]), urls))
POSTGRES, DATA_DIR, POSTGRES_VERSION = sys.argv[6], sys.argv[7], sys.argv[8]
password = sys.stdin.readline().rstrip("\n")
started = time.monotonic()
# How long a refused password may be a reload still under way (loop_wait, and some).
AUTH_GRACE_SEC = desired["loop_wait"] * 2 + 5
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
# HTTPS: each member verified against the cluster's CA, this member's certificate presented.
import os, ssl
TLS = ssl.create_default_context(cafile=os.environ["REST_API_CA"])
TLS.load_cert_chain(os.environ["REST_API_CERT"], os.environ["REST_API_KEY"])


def call(url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Authorization": auth, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10, context=TLS) as response:
        text = response.read().decode(errors="replace")
    # GET /config and /cluster answer JSON; POST /restart and /switchover answer plain text.
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def any_member(method, path, body=None, deadline_sec=300):
    """The first member whose REST API answers (any member reads and writes the DCS)."""
    deadline, last = time.monotonic() + deadline_sec, None
    while True:
        for url in urls:
            try:
                return call(url, method, path, body)
            except urllib.error.HTTPError as error:
                # A member that has not yet applied a new REST API password (its reload is signalled,
                # Patroni takes it in its next cycle) refuses it for up to loop_wait: wait that out.
                if error.code == 401 and time.monotonic() < started + AUTH_GRACE_SEC:
                    last = f"{url}: HTTP 401 (a new password not applied yet?)"
                    continue
                # Any other refusal (a wrong password, a rejected value) is an answer: say it, do not retry.
                if error.code < 500:
                    sys.exit(f"{method} {path} on {url}: HTTP {error.code} {error.read().decode(errors='replace')}")
                last = f"{url}: HTTP {error.code}"
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


def number(value):
    """A PostgreSQL integer setting as a number (units are not used for these)."""
    try:
        return int(str(value))
    except ValueError:
        return None


def members():
    return {m["name"]: m for m in (any_member("GET", "/cluster") or {}).get("members", [])}


def wait_until(what, check, timeout_sec=300):
    deadline, last = time.monotonic() + timeout_sec, None
    while time.monotonic() < deadline:
        try:
            ok, last = check(members())
            if ok:
                return
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            last = str(error)
        time.sleep(1)
    sys.exit(f"{what}: not reached within {timeout_sec} s; last: {last}")


def healthy_replica(name, lag_limit):
    def check(ms):
        m = ms.get(name, {})
        lag = m.get("lag")
        ok = m.get("state") in ("running", "streaming") and not m.get("pending_restart") and isinstance(lag, int) and lag <= lag_limit
        return ok, f"{name}: {m.get('role')} {m.get('state')}, lag {lag}, pending restart {bool(m.get('pending_restart'))}"
    return check


def replayed_past(name, position):
    """The member has replayed the WAL up to `position` (its control file then holds what it records)."""
    def check(ms):
        xlog = (call(member_url[name], "GET", "/patroni") or {}).get("xlog", {})
        replayed = xlog.get("replayed_location")
        return isinstance(replayed, int) and replayed >= position, f"{name} replayed {replayed}, waiting for {position}"
    return check


def restart(name):
    """POST /restart with restart_pending on that member; 503 means nothing was pending any more."""
    try:
        call(member_url[name], "POST", "/restart", {"restart_pending": True})
        print(f"restarted {name}")
    except urllib.error.HTTPError as error:
        if error.code != 503:
            raise
        print(f"{name}: no restart pending any more")


current = any_member("GET", "/config") or {}
patch = merge_patch(current, desired)
changed = sorted(paths(patch))
def lowered_settings():
    have, want = current.get("postgresql", {}).get("parameters", {}), desired["postgresql"]["parameters"]
    return [k for k in AT_LEAST_PRIMARY if None not in (number(have.get(k)), number(want.get(k))) and number(want[k]) < number(have[k])]


def check_with_postgres(parameters):
    """PostgreSQL's own parser (`postgres -C`, the server binary of this host, reading nothing but the
    values given) takes every changed parameter: an unknown name, a wrong type, a value out of range or
    not among an enum's fails the step here, before the DCS changes and before anything restarts."""
    if not parameters:
        return
    values = [f"{k}={('on' if v else 'off') if isinstance(v, bool) else v}" for k, v in parameters.items()]
    run = subprocess.run(["runuser", "-u", "postgres", "--", POSTGRES, "-D", DATA_DIR, "-C", next(iter(parameters))] + [a for v in values for a in ("-c", v)],
                         capture_output=True, text=True, cwd="/tmp")
    if run.returncode == 0:
        return
    refusal = " ".join(re.sub(r"^.*?(FATAL|HINT):\s*", "", line) for line in run.stderr.splitlines() if re.search(r"(FATAL|HINT):", line)) or run.stderr.strip()
    refusal = refusal.rstrip(".")
    hint = ""
    unknown = re.search(r'unrecognized configuration parameter "([^"]+)"', refusal)
    if unknown:
        names = [line.split("\t", 1)[0] for line in subprocess.run(["runuser", "-u", "postgres", "--", POSTGRES, "--describe-config"], capture_output=True, text=True, cwd="/tmp").stdout.splitlines()]
        close = difflib.get_close_matches(unknown.group(1), names, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
    sys.exit(f"patroni.parameters: PostgreSQL {POSTGRES_VERSION} refuses {refusal}{hint}. The DCS configuration was not changed and nothing restarted. "
             "Fix: correct or remove that entry of patroni.parameters in the stack, then run the deployment again.")


lowered = lowered_settings()
wanted_parameters = desired["postgresql"]["parameters"]
check_with_postgres({k: v for k, v in wanted_parameters.items() if current.get("postgresql", {}).get("parameters", {}).get(k) != v})
if changed:
    any_member("PATCH", "/config", patch)
    print("DCS configuration changed: " + ", ".join(changed))
    # Every member applies it on its next HA loop (and reports pending_restart from then on).
    time.sleep(desired["loop_wait"] + 2)
else:
    print("DCS configuration already as desired")

lag_limit = desired["maximum_lag_on_failover"]
state = members()
pending = sorted(n for n, m in state.items() if m.get("pending_restart"))
restarted = []
if pending:
    print("pending restart: " + ", ".join(pending))
    leader = next(n for n, m in state.items() if m.get("role") in ("leader", "master", "primary"))
    if leader in pending and lowered:
        print(f"lowered {', '.join(lowered)}: the primary {leader} restarts first")
        restart(leader)
        wait_until(f"{leader} running again as the primary", lambda ms: (ms.get(leader, {}).get("role") in ("leader", "master", "primary") and ms[leader].get("state") == "running" and not ms[leader].get("pending_restart"), ms.get(leader)))
        restarted.append(leader)
        # A restarting replica takes these settings from its control file, which holds the primary's
        # values only once it has replayed the primary's restart (Patroni: "pg_controldata value will
        # be used"): wait for that before restarting each replica.
        after_restart = (call(member_url[leader], "GET", "/patroni") or {}).get("xlog", {}).get("location", 0)
    else:
        after_restart = None
    # Asynchronous replicas first, the synchronous standby last: commits wait only for the latter.
    replicas = sorted((n for n in pending if n != leader), key=lambda n: state[n].get("role") in ("sync_standby", "quorum_standby"))
    for name in replicas:
        if after_restart is not None:
            wait_until(f"{name} replaying past the primary's restart", lambda ms, name=name: replayed_past(name, after_restart)(ms))
        restart(name)
        wait_until(f"{name} streaming again with lag under {lag_limit}", healthy_replica(name, lag_limit))
        restarted.append(name)
    state = members()
    if state.get(leader, {}).get("pending_restart"):
        def candidates(ms):
            found = [n for n, m in ms.items() if m.get("role") in ("sync_standby", "quorum_standby") and healthy_replica(n, lag_limit)(ms)[0]]
            if not found and not desired["synchronous_mode"]:
                found = [n for n, m in ms.items() if n != leader and healthy_replica(n, lag_limit)(ms)[0]]
            return found
        # Patroni puts a restarted standby back into the synchronous set a loop or two later (in
        # quorum mode it postpones the change for loop_wait): wait for one, bounded.
        wait_until(
            f"{leader} needs a restart: a healthy synchronous standby to take over",
            lambda ms: (bool(candidates(ms)), {n: (m.get("role"), m.get("state"), m.get("lag")) for n, m in ms.items()}),
        )
        candidate = sorted(candidates(members()))[0]
        print(f"switchover {leader} -> {candidate}")
        any_member("POST", "/switchover", {"leader": leader, "candidate": candidate})
        wait_until(f"{candidate} leading", lambda ms: (ms.get(candidate, {}).get("role") in ("leader", "master", "primary") and ms[candidate].get("state") == "running", ms.get(candidate)))
        wait_until(f"{leader} streaming from {candidate}", lambda ms: (ms.get(leader, {}).get("state") in ("running", "streaming") and isinstance(ms[leader].get("lag"), int), ms.get(leader)))
        if members().get(leader, {}).get("pending_restart"):
            restart(leader)
        wait_until(f"{leader} streaming again with lag under {lag_limit}", healthy_replica(leader, lag_limit))
        restarted.append(leader)
print(json.dumps({"changed": changed, "pendingRestart": pending, "restarted": restarted}))
PY
)
python3 -c "$program" 'https://10.40.0.20:8008,https://10.40.64.20:8008,https://10.40.128.20:8008' 'patroni' '{"ttl":20,"loop_wait":2,"retry_timeout":7,"maximum_lag_on_failover":1048576,"synchronous_mode":"quorum","synchronous_mode_strict":false,"synchronous_node_count":1,"failsafe_mode":true,"primary_start_timeout":300,"postgresql":{"use_pg_rewind":true,"use_slots":true,"parameters":{"password_encryption":"scram-sha-256","wal_level":"replica","hot_standby":"on","hot_standby_feedback":"on","max_connections":200,"max_wal_senders":10,"max_replication_slots":10,"wal_keep_size":"1GB","archive_mode":"on","archive_command":"/bin/true","logging_collector":"on","log_directory":"log","log_filename":"postgresql-%a.log","log_truncate_on_rotation":"on","log_line_prefix":"%m [%p] %q%u@%d ","log_min_duration_statement":1000,"log_lock_waits":"on","log_checkpoints":"on","log_connections":"off","track_io_timing":"on","wal_sender_timeout":"5s","wal_log_hints":"on"}}}' '[["postgresql","parameters"]]' '["pg1","pg2","pg3"]' '/usr/lib/postgresql/17/bin/postgres' '/var/lib/postgresql/17/main' '17'
