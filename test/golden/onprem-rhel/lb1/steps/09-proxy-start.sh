#!/bin/bash
# Starts (or reloads) HAProxy, then Keepalived, on lb1. The balancers' steps run one after
# the other. HAProxy's reload keeps its server states (server-state-file); Keepalived's keeps its
# VRRP state, so the VIP does not move.
# Applies (a change to any of these files re-runs this step):
#   /etc/haproxy/haproxy.cfg sha256:846d776694e37e4870a189f29b239c1f0b653aad10b202f4cec17cfa08bfe4b3
#   /etc/systemd/system/haproxy.service.d/pulumi-patroni.conf sha256:0c14c295548fcb298b6b62940f05a8f8074b6cfc5a4a76696516304807c3f03d
#   /etc/keepalived/check-haproxy.sh sha256:ffbd0763f8fd94b1a523c1ae89de9b770c76243b6161ed73c0112ac76cd2f882
#   /etc/keepalived/keepalived.conf sha256:60bda587621234dcdfdcc88cacc649f05eb9d780fcd6c623e7679b5e141474a2
#   /etc/haproxy/tls/ca.crt sha256:4c5345030ee1b0da4ba1139f422ee1597c03cac84b52714a366ff5bc5011a435
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl enable haproxy keepalived >/dev/null 2>&1
# The balancers this one lists now (10.20.3.31 10.20.3.32) against those its running HAProxy still
# publishes: a balancer dropped from the list must leave VRRP before this one stops sending it
# adverts, or it hears nothing for three adverts and takes the VIP before its own check (every
# 1 s, fall 2) finds it was dropped. So HAProxy publishes the new list
# first, and Keepalived is reloaded once the dropped balancers' checks have failed.
listed=" 10.20.3.31 10.20.3.32 "
published=$(curl -s --fail --max-time 2 "http://10.20.3.31:7000/vrrp-peers" || true)
dropped=""
case "$published" in
    "pgha-balancers "*)
        for peer in ${published#pgha-balancers }; do
            case "$listed" in
                *" $peer "*) ;;
                *) dropped="$dropped $peer" ;;
            esac
        done
        ;;
esac
for unit in haproxy keepalived; do
    if [ "$unit" = keepalived ] && [ -n "$dropped" ] && systemctl is-active --quiet keepalived; then
        echo "waiting 4 s for the balancers no longer listed ($dropped ) to leave VRRP"
        sleep 4
    fi
    if systemctl is-active --quiet "$unit"; then
        systemctl reload "$unit"
        echo "$unit reloaded on lb1"
    else
        systemctl restart "$unit" || { log_tail "$unit"; exit 1; }
        echo "$unit started on lb1"
    fi
done
