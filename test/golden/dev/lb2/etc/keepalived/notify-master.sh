#!/bin/bash
# Run by keepalived when this node becomes MASTER for the VIP 10.40.0.50.
set -euo pipefail
exec > >(logger -t pgha-notify-master) 2>&1
# In a VPC, Keepalived adding 10.40.0.50 inside the OS is not enough: the VPC delivers an address only
# to the ENI it is assigned to. Assign it to this instance's primary ENI, taking it from the peer
# (--allow-reassignment). The instance profile allows exactly this on the two HAProxy ENIs.
# /snap/bin: the AWS CLI comes from a snap on Ubuntu 24.04.
export PATH="$PATH:/usr/local/bin:/snap/bin"
imds=http://169.254.169.254/latest
# IMDSv2 only (the instances require tokens): a session token first, then the metadata.
token=$(curl -fsS --retry 5 --retry-connrefused --max-time 5 -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
metadata() {
    curl -fsS --retry 5 --retry-connrefused --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"
}
mac=$(metadata mac)
eni=$(metadata "network/interfaces/macs/$mac/interface-id")
region=$(metadata placement/region)
for attempt in 1 2 3 4 5 6; do
    if aws ec2 assign-private-ip-addresses --region "$region" --network-interface-id "$eni" \
        --private-ip-addresses '10.40.0.50' --allow-reassignment; then
        assigned=$(aws ec2 describe-network-interfaces --region "$region" --network-interface-ids "$eni" \
            --query 'NetworkInterfaces[0].PrivateIpAddresses[].PrivateIpAddress' --output text)
        if [[ " $assigned " == *[[:space:]]10.40.0.50[[:space:]]* ]]; then
            echo "VIP 10.40.0.50 assigned to $eni ($(hostname))"
            break
        fi
    fi
    if [ "$attempt" -eq 6 ]; then
        echo "could not assign VIP 10.40.0.50 to $eni after $attempt attempts" >&2
        exit 1
    fi
    echo "assigning VIP 10.40.0.50 to $eni failed (attempt $attempt); retrying" >&2
    sleep $((attempt * 2))
done
