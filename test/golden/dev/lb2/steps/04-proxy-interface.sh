#!/bin/bash
# Finds the network interface of this instance's primary ENI (the one the VIP is assigned to):
# the interface whose MAC is IMDS's `mac`, never a name assumed from the image (ens5, eth0, enX0
# differ by image, instance family and boot options). Writes it for keepalived.conf to include,
# as PGHA_INTERFACE, only when it changed. Safe to run again.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
# IMDSv2 only (the instances require tokens): a session token first, then the metadata.
imds=http://169.254.169.254/latest
token=$(curl -fsS --retry 5 --retry-connrefused --max-time 5 -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
metadata() {
    curl -fsS --retry 5 --retry-connrefused --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"
}
mac=$(metadata mac | tr 'A-F' 'a-f')
name=$(ip -o link | awk -v mac="$mac" '$0 ~ ("link/ether " mac " ") { sub(/:$/, "", $2); sub(/@.*/, "", $2); print $2; exit }')
if [ -z "$name" ]; then
    echo "no network interface of $(hostname) has the primary ENI's MAC $mac:" >&2
    ip -o link >&2
    exit 1
fi
target='/etc/keepalived/pgha-interface.conf'
line="\$PGHA_INTERFACE=$name"
if [ "$(cat "$target" 2>/dev/null || true)" != "$line" ]; then
    install -d -m 0755 "$(dirname "$target")"
    printf '%s\n' "$line" > "$target.tmp"
    mv "$target.tmp" "$target"
fi
echo "the VIP's interface on $(hostname) is $name (MAC $mac)"
