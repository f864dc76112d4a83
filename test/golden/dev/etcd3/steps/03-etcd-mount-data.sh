#!/bin/bash
# Puts the EBS data volume vol-0000000000000ecd3 at /var/lib/etcd on etcd3: formatted (XFS) only when
# it holds no filesystem yet, mounted by UUID from /etc/fstab (nofail: a lost volume must not stop
# the boot, the service then fails visibly). Safe to run again: an existing filesystem is never touched.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o Dpkg::Options::=--force-confold -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300)
install_packages() {
    local attempt
    for attempt in 1 2 3; do
        if apt-get "${apt_opts[@]}" install --no-install-recommends "$@"; then return 0; fi
        echo "apt-get install failed (attempt ${attempt}); refreshing the package index" >&2
        apt-get "${apt_opts[@]}" update || true
    done
    return 1
}
# Refresh the index once a day at most, so that a re-run does not hit the mirror again.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit 2>/dev/null)" ]; then
    apt-get "${apt_opts[@]}" update
fi
# Nitro instances show EBS volumes as NVMe devices whose serial is the volume id without its dash;
# Xen instances keep the block device name given at attachment.
by_id=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0000000000000ecd3
deadline=$((SECONDS + 300))
device=
until [ -n "$device" ]; do
    if [ -e "$by_id" ]; then
        device=$(readlink -f "$by_id")
    elif [ -b '/dev/xvdf' ]; then
        device='/dev/xvdf'
    elif [ "$SECONDS" -ge "$deadline" ]; then
        echo "volume vol-0000000000000ecd3 did not appear on $(hostname) within 300 s (looked for $by_id and /dev/xvdf)" >&2
        exit 1
    else
        sleep 2
    fi
done
if [ -z "$(blkid -o value -s TYPE "$device" || true)" ]; then
    command -v mkfs.xfs >/dev/null || install_packages xfsprogs
    mkfs.xfs -q -L 'etcd' "$device"
fi
uuid=$(blkid -o value -s UUID "$device")
install -d -m 0755 '/var/lib/etcd'
if ! grep -qs "^UUID=$uuid " /etc/fstab; then
    echo "UUID=$uuid /var/lib/etcd xfs defaults,noatime,nofail 0 2" >> /etc/fstab
    systemctl daemon-reload 2>/dev/null || true
fi
if ! mountpoint -q '/var/lib/etcd'; then
    mount '/var/lib/etcd'
fi
echo "vol-0000000000000ecd3 ($device) mounted at /var/lib/etcd on $(hostname)"
