#!/bin/bash
# Run by keepalived when this node becomes MASTER for the VIP 10.251.17.50.
set -euo pipefail
exec > >(logger -t pgha-notify-master) 2>&1
echo "$(date +%s) $(hostname) became MASTER for the VIP" >> /run/pgha-vip-notify.log
