#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12 machine: a throwaway bookworm root with Node.js
# and nothing else, this repository's HEAD cloned into it, then
#   tools/fresh-machine.sh test   →  npm ci && npm test       (in systemd-nspawn: own PIDs, this network)
#   tools/fresh-machine.sh lab    →  npm ci && npm run lab, a query through the VIP, npm run lab -- down
#                                    (a chroot in a private mount namespace: the lab makes its bridge and
#                                    network namespaces on this machine, so no other lab may run)
# As root. The root is the lab's cached debootstrap base when there is one, else a new debootstrap
# minbase; Node.js and npm are this machine's, and so is its CA bundle with npm's cafile (this
# machine's registry access goes through a TLS-intercepting proxy: a machine of this kind has both).
# The root is removed at the end unless KEEP=1.
set -euo pipefail

readonly MODE="${1:?usage: tools/fresh-machine.sh test|lab}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
readonly REPO
readonly BASE=/var/lib/pgha-lab/base-bookworm
[[ $EUID -eq 0 ]] || { echo "fresh-machine: run as root" >&2; exit 1; }
[[ "$MODE" == test || "$MODE" == lab ]] || { echo "fresh-machine: test or lab, not $MODE" >&2; exit 1; }

work=$(mktemp -d /tmp/pgha-fresh.XXXXXX)
root="$work/root"
cleanup() {
    [[ "${KEEP:-0}" == 1 ]] && { echo "fresh-machine: kept $root" >&2; return; }
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

if [[ -f "$BASE/.pgha-base-complete" ]]; then
    cp -a "$BASE" "$root"
else
    echo "fresh-machine: debootstrap bookworm (minbase) into $root" >&2
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
        { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
fi
# Node.js 20 and npm, as this machine has them.
node_bin=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
install -D -m 0755 "$node_bin" "$root/usr/bin/node"
mkdir -p "$root/usr/lib/node_modules"
cp -a "$npm_dir" "$root/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
# This machine's way to the registries: its CA bundle and npm's cafile setting.
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
for rc in /etc/npmrc /usr/etc/npmrc; do [[ -f "$rc" ]] && install -D -m 0644 "$rc" "$root$rc"; done
git clone -q "$REPO" "$root/root/pulumi-patroni"
echo "fresh-machine: $(chroot "$root" node --version), $(git -C "$REPO" log --oneline -1 | cut -c1-60)" >&2

readonly ENVS=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt TERM=dumb CI=1)
if [[ "$MODE" == test ]]; then
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q --register=no --keep-unit --link-journal=no --timezone=off \
        --as-pid2 --resolv-conf=copy-host -M "pgha-fresh-$$" -D "$root" \
        /usr/bin/env -i "${ENVS[@]}" /bin/bash -c 'cd /root/pulumi-patroni && npm ci --no-audit --no-fund && npm test' </dev/null
    exit
fi
# lab: a private mount namespace, so every mount made for the chroot goes with it.
# shellcheck disable=SC2016 # expanded by the inner shell, from its arguments
unshare --mount --propagation private /bin/bash -euo pipefail -c '
    root=$1; shift
    mount --bind "$root" "$root" # nspawn needs the root to be a mount point
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/run"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" /usr/bin/env -i "$@" /bin/bash -c "
        cd /root/pulumi-patroni && npm ci --no-audit --no-fund && rc=0 && npm run lab || rc=\$?
        [ \$rc -eq 0 ] && npm run lab -- psql -c \"select pg_is_in_recovery(), version()\" || rc=1
        npm run lab -- down
        exit \$rc"
' _ "$root" "${ENVS[@]}" </dev/null
