#!/usr/bin/env bash
# PostgreSQL's own parameter catalog for one major version, from the real server: every setting of
# pg_settings (name, type, unit, range, enum values, context) as JSON on standard output. The
# validator (model/postgres-catalog.ts) checks `patroni.parameters` against it before anything
# is created.
#
#   tools/postgres-catalog.sh 15 > model/postgres-catalog/15.json
#
# It uses this machine's /usr/lib/postgresql/<version>/bin when present; otherwise (root only) it
# builds a throwaway Debian root of the release that ships that version (debootstrap, from
# deb.debian.org), installs postgresql-<version> there and asks that server. The server runs on a
# Unix socket in a scratch directory, never on TCP, and is gone when the script ends.
set -euo pipefail

readonly VERSION="${1:?usage: tools/postgres-catalog.sh <postgres major version>}"
# The Debian release whose own repositories ship each version (none ships 14 or 16).
declare -A SUITE=([13]=bullseye [15]=bookworm [17]=trixie [18]=sid)
readonly MIRROR="http://deb.debian.org/debian"

readonly QUERY="SELECT json_build_object(
  'version', current_setting('server_version'),
  'parameters', json_agg(json_build_object(
    'name', name, 'type', vartype, 'unit', unit, 'min', min_val, 'max', max_val,
    'enum', enumvals, 'context', context) ORDER BY name))
FROM pg_settings"
readonly ENUMS_QUERY="SELECT name, vartype, array_to_string(enumvals, ' ') FROM pg_settings WHERE vartype IN ('enum', 'bool') AND context <> 'internal'"
readonly ALIAS_CANDIDATES="on off true false yes no 1 0 archive hot_standby"

scratch=$(mktemp -d /tmp/pg-catalog.XXXXXX)
root=""
cleanup() {
    if [[ -n "$root" ]]; then
        umount "$root/proc" 2>/dev/null || true
        rm -rf --one-file-system "$root"
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

# One parameter a line: the catalog is reviewed in diffs.
one_per_line() {
    python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
d = json.loads(lines[0])
by_name = {p["name"]: p for p in d["parameters"]}
for line in lines[1:]:
    verdict, name, spelling, value = (line.split(" ", 3) + [""])[:4]
    p = by_name[name]
    listed = [e.lower() for e in p["enum"] or ["on", "off"]]
    if verdict == "ACCEPTED" and spelling.lower() not in listed:
        p.setdefault("aliases", {})[spelling] = value
    elif verdict == "REFUSED" and spelling.lower() in listed:
        p.setdefault("refused", {})[spelling] = value
print("{\"version\": %s, \"parameters\": [" % json.dumps(d["version"]))
print(",\n".join(json.dumps(p) for p in d["parameters"]))
print("]}")'
}

# Runs initdb, a socket-only server and the query as $1 (a user), with binaries in $2, under $3 (a
# directory the user owns). Prints the JSON.
ask_server() {
    local as="$1" bin="$2" dir="$3"
    # shellcheck disable=SC2016 # expanded by the inner shell
    su -s /bin/sh "$as" -c '
        set -e
        "$0/initdb" -D "$1/data" -A trust -U postgres >/dev/null
        "$0/pg_ctl" -D "$1/data" -l "$1/log" -w -o "-c listen_addresses= -k $1" start >/dev/null
        ask() { "$0/psql" -h "$1" -U postgres -d postgres -AtX -F " " -c "$2"; }
        if ask "$1" "$2" && enums=$(ask "$1" "$3"); then
            # What `postgres -C` makes of each spelling: enums take some that pg_settings does not
            # list (guc_tables.c hides them), and a build refuses some listed values in a check
            # hook (bonjour without Bonjour). One "ACCEPTED name spelling value" or "REFUSED name
            # spelling message" line each.
            while read -r name type values; do
                for spelling in $values '"$ALIAS_CANDIDATES"'; do
                    [ "$type" = bool ] && [ "$spelling" != on ] && [ "$spelling" != off ] && continue
                    if value=$("$0/postgres" -D "$1/data" -C "$name" -c "$name=$spelling" 2>"$1/err"); then
                        echo "ACCEPTED $name $spelling $value"
                    else
                        echo "REFUSED $name $spelling $(sed -n "s/.*FATAL: *//p" "$1/err")"
                    fi
                done
            done <<EOF
$enums
EOF
        else
            "$0/pg_ctl" -D "$1/data" -m immediate stop >/dev/null; exit 1
        fi
        "$0/pg_ctl" -D "$1/data" -m fast stop >/dev/null
    ' "$bin" "$dir" "$QUERY" "$ENUMS_QUERY"
}

local_bin="/usr/lib/postgresql/$VERSION/bin"
if [[ -x "$local_bin/postgres" ]]; then
    chmod 0777 "$scratch"
    owner=postgres
    id "$owner" >/dev/null 2>&1 || owner=nobody
    install -d -o "$owner" "$scratch/pg"
    ask_server "$owner" "$local_bin" "$scratch/pg" | one_per_line
    exit 0
fi

suite="${SUITE[$VERSION]:-}"
[[ -n "$suite" ]] || { echo "postgres-catalog: no Debian release ships PostgreSQL $VERSION (known: ${!SUITE[*]}); run it where /usr/lib/postgresql/$VERSION/bin exists" >&2; exit 1; }
[[ $EUID -eq 0 ]] || { echo "postgres-catalog: PostgreSQL $VERSION is not installed here; building a $suite root to run it needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "postgres-catalog: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }

root="$scratch/root"
echo "postgres-catalog: a $suite root with postgresql-$VERSION in $root" >&2
debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$scratch/debootstrap.log" 2>&1 ||
    { tail -n 20 "$scratch/debootstrap.log" >&2; exit 1; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
# No service starts inside the root; Debian's packaging creates no cluster either.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
install -d "$root/etc/postgresql-common"
echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "postgresql-$VERSION" >"$scratch/apt.log" 2>&1 ||
    { tail -n 20 "$scratch/apt.log" >&2; exit 1; }
install -d -o "$(chroot "$root" id -u postgres)" "$root/tmp/pg"
# The chroot's own su, so the postgres user is the root's.
chroot "$root" /bin/bash -c "$(declare -f ask_server); QUERY=\$1 ENUMS_QUERY=\$2 ALIAS_CANDIDATES=\$3; ask_server postgres /usr/lib/postgresql/$VERSION/bin /tmp/pg" _ "$QUERY" "$ENUMS_QUERY" "$ALIAS_CANDIDATES" | one_per_line
