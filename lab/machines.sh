#!/usr/bin/env bash
# lab/machines.sh — the machine layer of the local pgha lab.
#
# Eight systemd-nspawn containers (systemd + sshd), each in its own network
# namespace, all on one bridge. Machines only: etcd/patroni/postgresql/haproxy/
# keepalived are installed later by the project's program over SSH.
#
# Usage: bash lab/machines.sh {prereqs|up|down|status|ssh|poweroff|poweron|cut|heal|cut-from|heal-from|hosts}
# The hosts' Debian release: PGHA_LAB_SUITE (bookworm or trixie) for `up`; every other command uses
# the release the running lab was made with.
set -euo pipefail

# ---------------------------------------------------------------- layout ---
readonly STATE=/var/lib/pgha-lab
readonly SUITE_FILE="$STATE/suite"
SUITE="${PGHA_LAB_SUITE:-$(cat "$SUITE_FILE" 2>/dev/null || echo bookworm)}"
case "$SUITE" in
  bookworm|trixie) readonly SUITE ;;
  *) echo "PGHA_LAB_SUITE: the lab makes Debian bookworm or trixie hosts (got $SUITE)" >&2; exit 2 ;;
esac
# One cached base root per release.
readonly BASE="$STATE/base-$SUITE"
readonly BASE_TMP="$STATE/base-$SUITE.tmp"
readonly BASE_MARK=".pgha-base-complete"
readonly HOSTS_DIR="$STATE/hosts"
readonly SSH_DIR="$STATE/ssh"
readonly KEY="$SSH_DIR/id_ed25519"
readonly KNOWN_HOSTS="$SSH_DIR/known_hosts"
readonly ACNG_DIR="$STATE/acng"
readonly ACNG_PID="$STATE/acng.pid"
readonly DEBOOTSTRAP_PID="$STATE/debootstrap.pid"
readonly LOCK=/run/pgha-lab.lock
readonly BRIDGE=pghabr0
readonly GW=10.251.17.1
readonly PREFIX=24
readonly ACNG_PORT=3142
readonly MIRROR=http://deb.debian.org/debian
readonly BASE_INCLUDE=systemd,systemd-sysv,dbus,openssh-server,iproute2,ca-certificates,python3,procps,less

# The hosts come from the stack (lab/cli.ts reads its cluster.hosts): PGHA_LAB_HOSTS, one
# "name address roles(comma separated)" line per host, for `up` and `add`. The running lab's table
# is kept in $TABLE for every other command.
readonly TABLE="$STATE/hosts.table"
HOSTS=()
declare -A ADDR=() ROLES=()
load_table() { # text
  HOSTS=(); ADDR=(); ROLES=()
  local n a r
  while read -r n a r; do
    [[ -n "${n:-}" ]] || continue
    [[ "$n" =~ ^[a-z][a-z0-9-]{0,9}$ ]] || die "host name '$n': lowercase letters, digits and '-', at most 10 characters (it names a veth)"
    [[ "$a" =~ ^10\.251\.17\.([0-9]+)$ && ${BASH_REMATCH[1]} -ge 2 && ${BASH_REMATCH[1]} -le 254 ]] \
      || die "host $n: address '$a' is not on the lab's bridge (10.251.17.2-254)"
    HOSTS+=("$n"); ADDR[$n]=$a; ROLES[$n]=$r
  done <<<"$1"
}

# Bounded waits (seconds).
readonly BOOT_DEADLINE=120     # container start -> ssh works
readonly STOP_GRACE=15         # graceful container shutdown before SIGKILL
# Early-boot cgroup race (LAB-NOTES pitfall 3): the container's systemd can use
# the unified hierarchy. Override with PGHA_LAB_UNIFIED=0 to get nspawn's default.
readonly UNIFIED="${PGHA_LAB_UNIFIED:-1}"

# ---------------------------------------------------------------- helpers --
T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[%6ss] %s\n' "$(since "$T0")" "$*" >&2; }
die() { printf 'machines.sh: ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
phase_start() { PHASE_NAME=$1; PHASE_T=$(now); log "phase $1 ..."; }
phase_end() { log "phase $PHASE_NAME done in $(since "$PHASE_T") s"; }

need_root() { [[ $EUID -eq 0 ]] || die "must run as root (try: sudo bash $0 $*)"; }

valid_host() {
  local h=$1
  [[ -n "$h" && -n "${ADDR[$h]:-}" ]] || die "unknown host '${h}' (hosts: ${HOSTS[*]})"
}

hdir() { printf '%s/%s' "$HOSTS_DIR" "$1"; }
netns() { printf 'pgha-%s' "$1"; }
veth() { printf 'pgv-%s' "$1"; }

# True if PID is alive and its command name is $2.
pid_is() {
  local pid=$1 comm=$2 c
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  c=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ "$c" == "$comm" ]]
}

read_pid() { if [[ -f "$1" ]]; then tr -dc '0-9' <"$1" || true; fi; }

# PID (in our namespace) of the container's init, i.e. the descendant of the
# nspawn process whose innermost PID is 1.
container_init() {
  local npid=$1 p
  for p in $(pgrep -P "$npid" 2>/dev/null || true); do
    if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$p/status" 2>/dev/null; then
      echo "$p"; return 0
    fi
    local q
    for q in $(pgrep -P "$p" 2>/dev/null || true); do
      if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$q/status" 2>/dev/null; then
        echo "$q"; return 0
      fi
    done
  done
  return 1
}

# nspawn PID of a host if it is running, else nothing.
host_pid() {
  local pid
  pid=$(read_pid "$(hdir "$1")/pid")
  if [[ -n "$pid" ]] && pid_is "$pid" systemd-nspawn; then echo "$pid"; fi
}

ssh_opts() {
  printf '%s\n' -i "$KEY" -o "UserKnownHostsFile=$KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
    -o "GlobalKnownHostsFile=/dev/null" -o LogLevel=ERROR -o ConnectTimeout=5 \
    -o ServerAliveInterval=5 -o ServerAliveCountMax=3
}

lab_ssh() { # host cmd... (batch mode, no stdin)
  local h=$1; shift
  local opts; mapfile -t opts < <(ssh_opts)
  ssh "${opts[@]}" -o BatchMode=yes -n "root@${ADDR[$h]}" "$@"
}

tcp_open() { timeout 2 bash -c ": >/dev/tcp/$1/$2" 2>/dev/null; }

with_lock() {
  mkdir -p "$STATE"; chmod 0700 "$STATE"
  exec 9>"$LOCK"
  # Daemons started below get fd 9 closed (9>&-) so they never hold the lock.
  flock -w 120 9 || die "another machines.sh holds $LOCK (waited 120 s)"
}

# ---------------------------------------------------------------- prereqs --
cmd_prereqs() {
  # postgresql-client: `npm run lab -- psql` (the README's next step) runs this machine's psql.
  local pkgs=(systemd-container debootstrap iproute2 apt-cacher-ng openssh-client procps util-linux postgresql-client)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    # A fresh machine may have no package lists yet.
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
      || die "apt-get install ${missing[*]} failed"
    # The package's init script starts a system-wide apt-cacher-ng on *:3142;
    # our own daemon needs that port on the bridge address.
    if [[ " ${missing[*]} " == *" apt-cacher-ng "* && -x /etc/init.d/apt-cacher-ng ]]; then
      /etc/init.d/apt-cacher-ng stop >&2 || true
    fi
  fi
  local c
  for c in systemd-nspawn debootstrap ip apt-cacher-ng ssh ssh-keygen awk flock setsid pgrep psql; do
    command -v "$c" >/dev/null || die "missing command $c"
  done
}

# ---------------------------------------------------------------- cleanup --
kill_tree_pidfile() { # pidfile comm : kill the recorded process (and its group)
  local f=$1 comm=$2 pid
  pid=$(read_pid "$f")
  if [[ -n "$pid" ]] && pid_is "$pid" "$comm"; then
    log "killing leftover $comm (pid $pid)"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while pid_is "$pid" "$comm" && ((SECONDS < deadline)); do sleep 0.1; done
  fi
  rm -f "$f"
}

# Stop all containers: SIGTERM to nspawn (-> orderly poweroff of the
# container), then SIGKILL to anything left after STOP_GRACE.
stop_containers() {
  local h pid pids=() deadline
  # Everything a container holds is discarded next, so there is nothing to shut down cleanly:
  # cut the power (SIGKILL its init, as `poweroff` does). A graceful stop of a running cluster
  # (Patroni checkpointing, etcd, ...) took 16-19 s; this takes about one.
  for h in "${HOSTS[@]}"; do
    pid=$(host_pid "$h")
    if [[ -n "$pid" ]]; then
      local init; init=$(container_init "$pid" || true)
      if [[ -n "$init" ]]; then kill -KILL "$init" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
      pids+=("$pid")
    fi
  done
  if ((${#pids[@]})); then
    log "stopping ${#pids[@]} containers (grace ${STOP_GRACE}s)"
    deadline=$((SECONDS + STOP_GRACE))
    local nudge=$((SECONDS + 3))
    while ((SECONDS < deadline)); do
      local alive=0
      for pid in "${pids[@]}"; do pid_is "$pid" systemd-nspawn && alive=1; done
      ((alive)) || break
      if ((SECONDS >= nudge)); then
        # A shutdown request that reaches systemd while it is still starting up
        # can get lost: ask the container's init directly again.
        nudge=$((SECONDS + 3))
        for pid in "${pids[@]}"; do
          if pid_is "$pid" systemd-nspawn; then
            local i; i=$(container_init "$pid" || true)
            if [[ -n "$i" ]]; then kill -s SIGRTMIN+3 "$i" 2>/dev/null || true; fi
          fi
        done
      fi
      sleep 0.2
    done
    for pid in "${pids[@]}"; do
      if pid_is "$pid" systemd-nspawn; then
        local init h2 last=""; init=$(container_init "$pid" || true)
        for h2 in "${HOSTS[@]}"; do
          if [[ "$(read_pid "$(hdir "$h2")/pid")" == "$pid" ]]; then
            last=" $h2, console: $(tail -n 2 "$(hdir "$h2")/console.log" 2>/dev/null | tr -d '\033' | tr '\n' '|')"
          fi
        done
        log "SIGKILL container nspawn=$pid init=${init:-?}$last"
        if [[ -n "$init" ]]; then kill -KILL "$init" 2>/dev/null || true; fi
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  fi
  # Anything still inside one of our namespaces (e.g. an up killed between
  # starting nspawn and recording its PID) belongs to the lab.
  for h in "${HOSTS[@]}"; do
    if [[ -e "/run/netns/$(netns "$h")" ]]; then
      local left; left=$(ip netns pids "$(netns "$h")" 2>/dev/null || true)
      if [[ -n "$left" ]]; then
        log "SIGKILL leftover processes in $(netns "$h"): $(echo "$left" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null || true
      fi
    fi
    rm -f "$(hdir "$h")/pid"
  done
  # Wait (bounded) until nspawn processes are gone so mounts are released.
  deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while pid_is "$pid" systemd-nspawn && ((SECONDS < deadline)); do sleep 0.1; done
  done
}

unmount_all() { # every mount at or below $STATE, deepest first
  local mp i
  for i in 1 2 3; do
    mapfile -t mps < <(awk -v s="$STATE" '$5 == s || index($5, s "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    ((${#mps[@]})) || return 0
    for mp in "${mps[@]}"; do
      umount "$mp" 2>/dev/null || { ((i == 3)) && umount -l "$mp"; } || true
    done
  done
  mapfile -t mps < <(awk -v s="$STATE" '$5 == s || index($5, s "/") == 1 { print $5 }' /proc/self/mountinfo)
  ((${#mps[@]} == 0)) || die "could not unmount: ${mps[*]}"
}

delete_link() { # name : delete a link, retrying while the kernel still tears it down
  local l=$1 deadline=$((SECONDS + 30))
  while ip link show "$l" >/dev/null 2>&1; do
    ip link del "$l" 2>/dev/null || true
    ip link show "$l" >/dev/null 2>&1 || break
    ((SECONDS < deadline)) || die "link $l still exists after 30 s"
    sleep 0.2
  done
}

teardown() { # everything except base cache, acng cache and ssh key
  kill_tree_pidfile "$DEBOOTSTRAP_PID" debootstrap
  # Hosts of an earlier table (or of a run killed before it wrote one) are found by their directories.
  local d
  for d in "$HOSTS_DIR"/*/; do
    [[ -d "$d" ]] || continue
    d=$(basename "$d")
    [[ -n "${ADDR[$d]:-}" ]] || { HOSTS+=("$d"); ADDR[$d]=; }
  done
  stop_containers
  kill_tree_pidfile "$ACNG_PID" apt-cacher-ng
  unmount_all
  local h l
  for h in "${HOSTS[@]}"; do
    # Deleting our end of the veth deletes the peer synchronously, which avoids
    # the veth lingering behind an asynchronous netns deletion (pitfall 6).
    delete_link "$(veth "$h")"
    if [[ -e "/run/netns/$(netns "$h")" ]]; then ip netns del "$(netns "$h")" 2>/dev/null || true; fi
  done
  # stray pgha-* namespaces / pgv-* links from other host sets
  while read -r l _; do
    if [[ "$l" == pgha-* ]]; then ip netns del "$l" 2>/dev/null || true; fi
  done < <(ip netns list 2>/dev/null)
  while read -r l; do
    [[ -n "$l" ]] && delete_link "$l"
  done < <(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); if ($2 ~ /^pgv-/) print $2 }')
  delete_link "$BRIDGE"
  rm -rf --one-file-system "$HOSTS_DIR" "$BASE_TMP"
  rm -f "$STATE/apt-prewarm.log" "$STATE/lock" "$KNOWN_HOSTS" "$TABLE"
}

# ------------------------------------------------------------------- base --
base_ok() { [[ -f "$BASE/$BASE_MARK" && -x "$BASE/lib/systemd/systemd" && -x "$BASE/usr/sbin/sshd" ]]; }

ensure_base() {
  # The bookworm base of earlier versions of this script lived at $STATE/base.
  if [[ "$SUITE" == bookworm && ! -e "$BASE" && -f "$STATE/base/$BASE_MARK" ]]; then mv -T "$STATE/base" "$BASE"; fi
  if base_ok; then log "base cached at $BASE"; return 0; fi
  [[ -e "$BASE" ]] && { log "base incomplete: rebuilding"; rm -rf --one-file-system "$BASE"; }
  rm -rf --one-file-system "$BASE_TMP"
  log "debootstrap $SUITE (minbase) into $BASE_TMP"
  setsid debootstrap --variant=minbase --include="$BASE_INCLUDE" "$SUITE" "$BASE_TMP" "$MIRROR" \
    >"$STATE/debootstrap.log" 2>&1 </dev/null 9>&- &
  local dpid=$!
  echo "$dpid" >"$DEBOOTSTRAP_PID"
  if ! wait "$dpid"; then
    rm -f "$DEBOOTSTRAP_PID"
    tail -n 20 "$STATE/debootstrap.log" >&2 || true
    die "debootstrap failed (log: $STATE/debootstrap.log)"
  fi
  rm -f "$DEBOOTSTRAP_PID"
  # Shared host keys would be cloned into every host (pitfall 2): drop them
  # from the base; each host gets its own.
  rm -f "$BASE_TMP"/etc/ssh/ssh_host_*
  : >"$BASE_TMP/etc/machine-id"
  rm -f "$BASE_TMP/var/lib/dbus/machine-id"
  apt-get -o "Dir=$BASE_TMP" clean >/dev/null 2>&1 || rm -f "$BASE_TMP"/var/cache/apt/archives/*.deb
  date -u +%FT%TZ >"$BASE_TMP/$BASE_MARK"
  sync -f "$BASE_TMP/$BASE_MARK"
  mv -T "$BASE_TMP" "$BASE"
  log "base ready ($(du -sm "$BASE" | cut -f1) MB)"
}

# -------------------------------------------------------------------- key --
ensure_key() {
  mkdir -p "$SSH_DIR"; chmod 0700 "$SSH_DIR"
  if [[ ! -s "$KEY" || ! -s "$KEY.pub" ]]; then
    rm -f "$KEY" "$KEY.pub"
    ssh-keygen -q -t ed25519 -N '' -C pgha-lab -f "$KEY"
  fi
  chmod 0600 "$KEY"
}

# ---------------------------------------------------------------- network --
ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge stp_state 0 forward_delay 0
  fi
  ip addr replace "$GW/$PREFIX" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

host_net() { # host
  local h=$1 ns v
  ns=$(netns "$h"); v=$(veth "$h")
  [[ -e "/run/netns/$ns" ]] || ip netns add "$ns"
  if ! ip link show "$v" >/dev/null 2>&1; then
    ip link add "$v" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$v" master "$BRIDGE"
  ip link set "$v" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "${ADDR[$h]}/$PREFIX" dev eth0
  ip -n "$ns" link set eth0 up
}

# ------------------------------------------------------------ apt-cacher ---
acng_running() { local p; p=$(read_pid "$ACNG_PID"); [[ -n "$p" ]] && pid_is "$p" apt-cacher-ng; }

# PIDs listening on TCP port 3142 (any address).
port_owners() { ss -ltnpH "sport = :$ACNG_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true; }

# Our daemon, and only it, serves GW:3142 (a stray apt-cacher-ng on *:3142
# makes ours fail to bind while a TCP probe still succeeds).
acng_serving() {
  acng_running || return 1
  local owners; owners=$(port_owners)
  [[ "$owners" == "$(read_pid "$ACNG_PID")" ]] && tcp_open "$GW" "$ACNG_PORT"
}

ensure_acng() {
  if acng_serving; then log "apt-cacher-ng already running"; return 0; fi
  kill_tree_pidfile "$ACNG_PID" apt-cacher-ng
  local other; other=$(port_owners)
  [[ -z "$other" ]] || die "port $ACNG_PORT is taken by pid(s) $(echo "$other" | tr '\n' ' ')($(ps -o args= -p "$(echo "$other" | head -1)" || true)); stop it (note: 'apt-cacher-ng --help' starts a daemon)"
  mkdir -p "$ACNG_DIR/conf" "$ACNG_DIR/cache" "$ACNG_DIR/log"
  # Debian's default remap sends deb.debian.org to ftp.debian.org (fails here):
  # pin both backends to deb.debian.org.
  cat >"$ACNG_DIR/conf/acng.conf" <<EOF
# written by lab/machines.sh
CacheDir: $ACNG_DIR/cache
LogDir: $ACNG_DIR/log
SupportDir: /usr/lib/apt-cacher-ng
Port: $ACNG_PORT
BindAddress: $GW
PidFile: $ACNG_PID
SocketPath: $ACNG_DIR/socket
ForeGround: 0
Remap-debrep: file:deb_mirror*.gz /debian ; $MIRROR/
Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security /debian-security cdn-fastly.deb.debian.org/debian-security ; http://deb.debian.org/debian-security/
ReportPage: acng-report.html
ExThreshold: 4
FollowIndexFileRemoval: 1
# Many hosts run apt-get update at once (pitfall 4). The mirror here sends no
# Last-Modified, so acng re-downloads (In)Release on every request, and two
# refreshes of the same file in the same second collide ("Failure to move
# file ... File exists") and leave apt hanging. The mirror is a fixed
# snapshot: treat the Release files as static (fetched once, then served from
# the cache; concurrent first fetches share one download). To pick up a newer
# mirror state, remove $ACNG_DIR/cache/*/dists. (DontCache for them answers
# 400 with an empty cache in acng 3.7.4: not usable.)
SPfilePatternEx: /(InRelease|Release|Release\.gpg)$
FreshIndexMaxAge: 600
NetworkTimeout: 40
DisconnectTimeout: 15
EOF
  rm -f "$ACNG_PID"
  apt-cacher-ng -c "$ACNG_DIR/conf" </dev/null >>"$ACNG_DIR/log/stdout.log" 2>&1 9>&- \
    || die "apt-cacher-ng failed to start (see $ACNG_DIR/log)"
  local deadline=$((SECONDS + 15))
  until acng_serving; do
    ((SECONDS < deadline)) || die "apt-cacher-ng not listening on $GW:$ACNG_PORT after 15 s"
    sleep 0.2
  done
  log "apt-cacher-ng pid $(read_pid "$ACNG_PID") on $GW:$ACNG_PORT"
}

# ----------------------------------------------------------------- hosts ---
mount_root() { # host
  local d; d=$(hdir "$1")
  mkdir -p "$d/upper" "$d/work" "$d/root"
  mountpoint -q "$d/root" || mount -t overlay "pgha-$1" \
    -o "lowerdir=$BASE,upperdir=$d/upper,workdir=$d/work" "$d/root"
}

prepare_root() { # host : per-host identity and config, written into the upper dir
  local h=$1 r
  r="$(hdir "$h")/root"
  echo "$h" >"$r/etc/hostname"
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    local o; for o in "${HOSTS[@]}"; do echo "${ADDR[$o]} $o"; done
  } >"$r/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$r/etc/machine-id"; echo >>"$r/etc/machine-id"
  rm -f "$r"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$r/etc/ssh/ssh_host_ed25519_key"
  install -d -m 0700 "$r/root/.ssh"
  install -m 0600 "$KEY.pub" "$r/root/.ssh/authorized_keys"
  cat >"$r/etc/ssh/sshd_config.d/pgha-lab.conf" <<EOF
# written by lab/machines.sh
ListenAddress ${ADDR[$h]}
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
MaxStartups 100:30:200
EOF
  cat >"$r/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian $SUITE main
deb http://deb.debian.org/debian $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
  cat >"$r/etc/apt/apt.conf.d/01pgha-lab-proxy" <<EOF
// written by lab/machines.sh: all apt traffic goes through apt-cacher-ng on the bridge
Acquire::http::Proxy "http://$GW:$ACNG_PORT";
Acquire::https::Proxy "DIRECT";
Acquire::http::Timeout "30";
Acquire::Retries "5";
Acquire::Languages "none";
Acquire::http::Pipeline-Depth "0";
EOF
  # No background apt runs competing with the program's installs for the dpkg lock.
  local u
  for u in apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service; do
    ln -sfn /dev/null "$r/etc/systemd/system/$u"
  done
  printf '%s,%s %s\n' "$h" "${ADDR[$h]}" "$(cut -d' ' -f1-2 "$r/etc/ssh/ssh_host_ed25519_key.pub")" \
    >"$(hdir "$h")/known_host"
}

start_container() { # host
  local h=$1 d extra=()
  d=$(hdir "$h")
  [[ -z "$(host_pid "$h")" ]] || die "$h is already running (pid $(host_pid "$h"))"
  # Keepalived adds and removes the VIP.
  [[ ",${ROLES[$h]}," == *,haproxy,* ]] && extra+=(--capability=CAP_NET_ADMIN)
  local envs=()
  [[ "$UNIFIED" == 1 ]] && envs+=(SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1)
  env "${envs[@]}" setsid systemd-nspawn -b -D "$d/root" -M "pgha-$h" --register=no --keep-unit \
    --network-namespace-path="/run/netns/$(netns "$h")" --resolv-conf=off --timezone=off \
    --link-journal=no --console=read-only "${extra[@]}" \
    </dev/null >>"$d/console.log" 2>&1 9>&- &
  local pid=$! deadline=$((SECONDS + 5))
  echo "$pid" >"$d/pid"
  # $! is the forked shell that execs env -> setsid -> systemd-nspawn: wait
  # until the exec chain is done so liveness checks see systemd-nspawn.
  until pid_is "$pid" systemd-nspawn; do
    kill -0 "$pid" 2>/dev/null || die "$h: systemd-nspawn exited at once: $(tail -n 5 "$d/console.log")"
    ((SECONDS < deadline)) || die "$h: pid $pid did not become systemd-nspawn"
    sleep 0.02
  done
}

# Wait until sshd answers on a host, then repair units that lost the early-boot
# cgroup race (pitfall 3). Prints one status line; returns non-zero on failure.
wait_host() { # host deadline_epoch
  local h=$1 deadline=$2 addr=${ADDR[$1]} t0=$SECONDS
  until tcp_open "$addr" 22; do
    [[ -n "$(host_pid "$h")" ]] || { echo "$h: container exited (see $(hdir "$h")/console.log)"; return 1; }
    (($(date +%s) < deadline)) || { echo "$h: sshd port not open before deadline"; return 1; }
    sleep 0.2
  done
  until lab_ssh "$h" true 2>/dev/null; do
    (($(date +%s) < deadline)) || { echo "$h: ssh login failed before deadline"; return 1; }
    sleep 0.5
  done
  local st failed
  st=$(lab_ssh "$h" 'timeout 60 systemctl is-system-running --wait 2>/dev/null || true')
  failed=$(lab_ssh "$h" "systemctl list-units --failed --plain --no-legend | awk '{print \$1}'" || true)
  if [[ -n "$failed" ]]; then
    lab_ssh "$h" "systemctl reset-failed; systemctl restart $(echo "$failed" | tr '\n' ' ')" >/dev/null 2>&1 || true
    st="$st; restarted failed: $(echo "$failed" | tr '\n' ' ')"
    st="$st-> $(lab_ssh "$h" 'systemctl is-system-running 2>/dev/null || true')"
  fi
  echo "$h: ssh ok after $((SECONDS - t0))s, systemd: $st"
}

wait_hosts() { # hosts...
  local h tmp rc=0 deadline
  tmp=$(mktemp -d)
  deadline=$(($(date +%s) + BOOT_DEADLINE))
  local pids=() p
  for h in "$@"; do wait_host "$h" "$deadline" >"$tmp/$h" 2>&1 & pids+=("$!"); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  for h in "$@"; do log "$(cat "$tmp/$h")"; done
  rm -rf "$tmp"
  return "$rc"
}

write_known_hosts() {
  local h
  for h in "${HOSTS[@]}"; do cat "$(hdir "$h")/known_host"; done >"$KNOWN_HOSTS.tmp"
  mv -f "$KNOWN_HOSTS.tmp" "$KNOWN_HOSTS"
}

# ------------------------------------------------------------- commands ----
wanted_table() { # the stack's hosts, from PGHA_LAB_HOSTS
  [[ -n "${PGHA_LAB_HOSTS:-}" ]] || die "PGHA_LAB_HOSTS is empty: the hosts come from a stack (run: npm run lab -- up --stack <name>)"
  printf '%s\n' "$PGHA_LAB_HOSTS"
}

table_text() { # the table in memory, as PGHA_LAB_HOSTS lines
  local h
  for h in "${HOSTS[@]}"; do printf '%s %s %s\n' "$h" "${ADDR[$h]}" "${ROLES[$h]}"; done
}

save_table() {
  table_text >"$TABLE.tmp"
  mv -f "$TABLE.tmp" "$TABLE"
}

cmd_up() {
  local tup; tup=$(now)
  local wanted; wanted=$(wanted_table)
  phase_start prereqs; cmd_prereqs; phase_end
  with_lock
  phase_start cleanup; teardown; phase_end
  load_table "$wanted"
  save_table
  phase_start base; ensure_base; echo "$SUITE" >"$SUITE_FILE"; phase_end
  phase_start key; ensure_key; phase_end
  phase_start network
  ensure_bridge
  local h; for h in "${HOSTS[@]}"; do host_net "$h"; done
  phase_end
  phase_start acng; ensure_acng; phase_end
  phase_start roots
  mkdir -p "$HOSTS_DIR"
  for h in "${HOSTS[@]}"; do mount_root "$h"; prepare_root "$h"; done
  write_known_hosts
  phase_end
  phase_start boot
  for h in "${HOSTS[@]}"; do start_container "$h"; done
  wait_hosts "${HOSTS[@]}" || die "not all hosts came up (consoles: $HOSTS_DIR/<host>/console.log); run 'down' to clean"
  phase_end
  phase_start apt-prewarm
  # One apt-get update fills the cache so the program's parallel updates are
  # served from it (concurrent first fetches through acng can hang: pitfall 4).
  # Lists are wiped first so every index file (not only the ones newer than the
  # base's lists) lands in the cache.
  lab_ssh "${HOSTS[0]}" 'rm -rf /var/lib/apt/lists/*; timeout 300 apt-get update -q' >"$STATE/apt-prewarm.log" 2>&1 \
    || { tail -n 20 "$STATE/apt-prewarm.log" >&2; die "apt-get update through apt-cacher-ng failed on ${HOSTS[0]}"; }
  [[ -d "$ACNG_DIR/cache/debrep/dists" ]] || die "apt-get update worked but $ACNG_DIR/cache is empty: is another proxy answering on $GW:$ACNG_PORT?"
  phase_end
  log "lab up in $(since "$tup") s; ssh: bash $0 ssh <host>"
}

# Hosts of PGHA_LAB_HOSTS the lab does not have yet: made and booted as `up` makes them.
cmd_add() {
  local wanted; wanted=$(wanted_table)
  with_lock
  [[ -s "$KEY" && -f "$TABLE" ]] || die "lab is not up: run 'up' first"
  base_ok || die "no base root for $SUITE: run 'up' first"
  acng_running || die "apt-cacher-ng is not running: run 'up' first"
  local n a r new=()
  while read -r n a r; do
    [[ -n "${n:-}" ]] || continue
    if [[ -n "${ADDR[$n]:-}" ]]; then
      [[ "${ADDR[$n]}" != "$a" ]] || continue
      # The stack moved the host: the machine at the old address is gone (as a dead machine rebuilt
      # elsewhere would be), and a new one is made at the new address.
      log "$n moves from ${ADDR[$n]} to $a: the old machine is removed"
      remove_host "$n"
    fi
    local o; for o in "${HOSTS[@]}"; do [[ "${ADDR[$o]}" != "$a" ]] || die "host $n: address $a is $o's"; done
    load_table "$(table_text; echo "$n $a $r")"
    new+=("$n")
  done <<<"$wanted"
  ((${#new[@]})) || { log "no new hosts"; return 0; }
  local t; t=$(now)
  ensure_bridge
  local h
  for h in "${new[@]}"; do host_net "$h"; mount_root "$h"; prepare_root "$h"; done
  save_table
  write_known_hosts
  for h in "${new[@]}"; do start_container "$h"; done
  wait_hosts "${new[@]}" || die "not all new hosts came up (consoles: $HOSTS_DIR/<host>/console.log)"
  log "added ${new[*]} in $(since "$t") s"
}

# A host that left the stack: stopped, its root, namespace and link removed.
remove_host() {
  local h=$1
  valid_host "$h"
  local pid; pid=$(host_pid "$h")
  if [[ -n "$pid" ]]; then
    local init; init=$(container_init "$pid" || true)
    if [[ -n "$init" ]]; then kill -KILL "$init" 2>/dev/null || true; fi
    local deadline=$((SECONDS + 10))
    while pid_is "$pid" systemd-nspawn && ((SECONDS < deadline)); do sleep 0.1; done
    if pid_is "$pid" systemd-nspawn; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  fi
  if [[ -e "/run/netns/$(netns "$h")" ]]; then
    local left; left=$(ip netns pids "$(netns "$h")" 2>/dev/null || true)
    # shellcheck disable=SC2086
    if [[ -n "$left" ]]; then kill -KILL $left 2>/dev/null || true; fi
  fi
  local mp; mp="$(hdir "$h")/root"
  if mountpoint -q "$mp"; then umount "$mp" 2>/dev/null || umount -l "$mp"; fi
  delete_link "$(veth "$h")"
  if [[ -e "/run/netns/$(netns "$h")" ]]; then ip netns del "$(netns "$h")" 2>/dev/null || true; fi
  rm -rf --one-file-system "$(hdir "$h")"
  local rest="" o
  for o in "${HOSTS[@]}"; do [[ "$o" == "$h" ]] || rest+="$o ${ADDR[$o]} ${ROLES[$o]}"$'\n'; done
  load_table "$rest"
  save_table
  write_known_hosts
  log "$h removed"
}

cmd_remove() {
  with_lock
  local h
  for h in "$@"; do remove_host "$h"; done
}

cmd_down() {
  with_lock
  local t; t=$(now)
  teardown
  log "lab down in $(since "$t") s (kept: base cache, acng cache, ssh key)"
}

cmd_status() {
  local h tmp
  tmp=$(mktemp -d)
  for h in "${HOSTS[@]}"; do
    (
      pid=$(host_pid "$h")
      run=no; [[ -n "$pid" ]] && run="yes(pid $pid)"
      link=$(ip -br link show "$(veth "$h")" 2>/dev/null | awk '{print $2}' || true); link=${link:-absent}
      sshok=no
      if [[ -n "$pid" && -s "$KNOWN_HOSTS" ]] && lab_ssh "$h" true 2>/dev/null; then sshok=yes; fi
      printf '%-6s %-13s running=%-16s link=%-8s ssh=%s\n' "$h" "${ADDR[$h]}" "$run" "$link" "$sshok"
    ) >"$tmp/$h" &
  done
  wait
  for h in "${HOSTS[@]}"; do cat "$tmp/$h"; done
  rm -rf "$tmp"
  if acng_running; then
    local l=no; acng_serving && l=yes
    echo "apt-cacher-ng running=yes(pid $(read_pid "$ACNG_PID")) listening=$GW:$ACNG_PORT:$l"
  else
    echo "apt-cacher-ng running=no"
  fi
  return 0
}

cmd_ssh() {
  [[ $# -ge 1 ]] || die "usage: $0 ssh <host> [command...]"
  local h=$1; shift
  valid_host "$h"
  [[ -s "$KEY" && -s "$KNOWN_HOSTS" ]] || die "lab is not up (no key/known_hosts)"
  local opts; mapfile -t opts < <(ssh_opts)
  if (($#)); then
    exec ssh "${opts[@]}" "root@${ADDR[$h]}" "$@"
  else
    exec ssh -t "${opts[@]}" "root@${ADDR[$h]}"
  fi
}

cmd_cut() { valid_host "${1:-}"; ip link set "$(veth "$1")" down; log "$1: link down"; }
cmd_heal() { valid_host "${1:-}"; ip link set "$(veth "$1")" up; log "$1: link up"; }

# A partial cut: the host's packets to these hosts are dropped (a blackhole route in its namespace),
# so its connections to them time out as across a real partition; every other peer still reaches it.
cmd_cut_from() {
  valid_host "${1:-}"
  local h=$1 peer; shift
  (($#)) || die "cut-from $h: name the hosts to cut it from"
  for peer in "$@"; do
    valid_host "$peer"
    ip netns exec "$(netns "$h")" ip route replace blackhole "${ADDR[$peer]}/32"
  done
  log "$h: cut from $*"
}
cmd_heal_from() {
  valid_host "${1:-}"
  ip netns exec "$(netns "$1")" ip route flush type blackhole
  log "$1: partial cuts healed"
}

cmd_poweroff() {
  valid_host "${1:-}"
  local h=$1 pid init
  with_lock
  ip link set "$(veth "$h")" down 2>/dev/null || true
  pid=$(host_pid "$h")
  if [[ -z "$pid" ]]; then log "$h: already off"; return 0; fi
  init=$(container_init "$pid" || true)
  if [[ -n "$init" ]]; then kill -KILL "$init" 2>/dev/null || true; fi
  local deadline=$((SECONDS + 10))
  while pid_is "$pid" systemd-nspawn && ((SECONDS < deadline)); do sleep 0.1; done
  if pid_is "$pid" systemd-nspawn; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$(hdir "$h")/pid"
  log "$h: powered off (link down, init ${init:-?} SIGKILLed)"
}

cmd_poweron() {
  valid_host "${1:-}"
  local h=$1
  with_lock
  [[ -z "$(host_pid "$h")" ]] || { ip link set "$(veth "$h")" up; log "$h: already running"; return 0; }
  if ! base_ok || [[ ! -d "$(hdir "$h")/upper" ]]; then die "$h has no root: run 'up' first"; fi
  ensure_bridge
  host_net "$h"
  mount_root "$h"   # same upper dir: data persists
  start_container "$h"
  wait_hosts "$h" || die "$h did not come back"
}

cmd_hosts() {
  local h first=1 r roles
  printf '['
  for h in "${HOSTS[@]}"; do
    roles=""
    IFS=, read -ra rs <<<"${ROLES[$h]}"
    for r in "${rs[@]}"; do roles+="${roles:+,}\"$r\""; done
    ((first)) || printf ','
    first=0
    printf '{"name":"%s","address":"%s","roles":[%s]}' "$h" "${ADDR[$h]}" "$roles"
  done
  printf ']\n'
}

usage() {
  cat >&2 <<EOF
usage: bash $0 <command>
  prereqs               install host packages the lab needs
  up                    (re)create the lab: bridge, apt-cacher-ng, the hosts of PGHA_LAB_HOSTS booted with sshd
  add                   make and boot the hosts of PGHA_LAB_HOSTS the lab does not have yet
  remove <host...>      stop hosts and remove their roots, namespaces and links
  down                  remove everything (keeps base cache, apt cache, ssh key)
  status                one line per host + apt-cacher-ng
  ssh <host> [cmd...]   ssh as root into a host
  poweroff <host>       link down + SIGKILL the container's init
  poweron <host>        link up + boot again on the same root (data kept)
  cut <host>            link down only
  heal <host>           link up
  cut-from <host> <peer...>  drop the host's packets to these peers only
  heal-from <host>      undo every cut-from of the host
  hosts                 host table as JSON
EOF
}

main() {
  local cmd=${1:-}
  [[ -n "$cmd" ]] || { usage; exit 2; }
  shift
  case "$cmd" in
    hosts) if [[ -f "$TABLE" ]]; then load_table "$(cat "$TABLE")"; fi; cmd_hosts; return ;;
    -h|--help|help) usage; return ;;
  esac
  need_root "$cmd"
  if [[ -f "$TABLE" ]]; then load_table "$(cat "$TABLE")"; fi
  case "$cmd" in
    prereqs) cmd_prereqs ;;
    up) cmd_up ;;
    add) cmd_add ;;
    remove) cmd_remove "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    ssh) cmd_ssh "$@" ;;
    poweroff) cmd_poweroff "$@" ;;
    poweron) cmd_poweron "$@" ;;
    cut) cmd_cut "$@" ;;
    heal) cmd_heal "$@" ;;
    cut-from) cmd_cut_from "$@" ;;
    heal-from) cmd_heal_from "$@" ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
