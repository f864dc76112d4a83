#!/bin/bash
# Run by keepalived when this node becomes MASTER for the VIP 10.40.0.50.
# With --if-holder (the pgha-vip-reassert timer, every 30 s): only where
# Keepalived holds 10.40.0.50 (it is on a local interface), and only when the VPC does not already
# deliver it here. keepalived runs notify_master on a transition only: after a VRRP split heals,
# the VIP could otherwise stay assigned to the backup's ENI for good.
set -euo pipefail
exec > >(logger -t pgha-notify-master) 2>&1
if_holder=false
[ "${1:-}" = --if-holder ] && if_holder=true
if $if_holder && [ -z "$(ip -o -4 addr show to '10.40.0.50')" ]; then
    exit 0
fi
# In a VPC, Keepalived adding 10.40.0.50 inside the OS is not enough: the VPC delivers an address only
# to the ENI it is assigned to. Assign it to this instance's primary ENI, taking it from the peer
# (--allow-reassignment). The instance profile allows exactly this on the two HAProxy ENIs.
# /snap/bin: the AWS CLI comes from a snap on Ubuntu 24.04.
export PATH="$PATH:/usr/local/bin:/snap/bin"
# IMDSv2 only (the instances require tokens): a session token first, then the metadata.
imds=http://169.254.169.254/latest
token=$(curl -fsS --retry 5 --retry-connrefused --max-time 5 -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
metadata() {
    curl -fsS --retry 5 --retry-connrefused --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"
}
mac=$(metadata mac)
eni=$(metadata "network/interfaces/macs/$mac/interface-id")
region=$(metadata placement/region)
assigned_here() {
    local assigned
    assigned=$(aws ec2 describe-network-interfaces --region "$region" --network-interface-ids "$eni" \
        --query 'NetworkInterfaces[0].PrivateIpAddresses[].PrivateIpAddress' --output text) || return 1
    [[ " $assigned " == *[[:space:]]10.40.0.50[[:space:]]* ]]
}
if $if_holder && assigned_here; then
    exit 0
fi
for attempt in 1 2 3 4 5 6; do
    if aws ec2 assign-private-ip-addresses --region "$region" --network-interface-id "$eni" \
        --private-ip-addresses '10.40.0.50' --allow-reassignment && assigned_here; then
        echo "VIP 10.40.0.50 assigned to $eni ($(hostname))"
        break
    fi
    if [ "$attempt" -eq 6 ]; then
        echo "could not assign VIP 10.40.0.50 to $eni after $attempt attempts" >&2
        exit 1
    fi
    echo "assigning VIP 10.40.0.50 to $eni failed (attempt $attempt); retrying" >&2
    sleep $((attempt * 2))
done
if $if_holder; then
    exit 0
fi
