#!/bin/bash
# Starts (or reloads) HAProxy, then Keepalived, on lb1. The balancers' steps run one after
# the other. HAProxy's reload keeps its server states (server-state-file); Keepalived's keeps its
# VRRP state, so the VIP does not move.
# Applies (a change to any of these files re-runs this step):
#   /etc/haproxy/haproxy.cfg sha256:79d075ed2369415172d523713bf7de3a003ee65b5f5e0a16bff6cbf0257b0e9b
#   /etc/systemd/system/haproxy.service.d/pulumi-patroni.conf sha256:0c14c295548fcb298b6b62940f05a8f8074b6cfc5a4a76696516304807c3f03d
#   /etc/keepalived/check-haproxy.sh sha256:bb2bcfb4bd777b2a459cb3769f6f8111cb9d6a7e7f7eae7330fcd5dedf445716
#   /etc/keepalived/notify-master.sh sha256:708ec5b7ccfedd939c76b3fc7b689cff59d067c2854b82aa27ac3ec8676e4621
#   /etc/systemd/system/pgha-vip-reassert.service sha256:0937ed78b2165f96173c7ef2a9b201b9ba48487cfd4cf4b351f0fcd9480170b3
#   /etc/systemd/system/pgha-vip-reassert.timer sha256:43c0d76f2760614d7483593bb7af46547eebc3bbfe7fa45e65c4d3d0c201afc3
#   /etc/keepalived/keepalived.conf sha256:7ac35de0f08f51e5c4ebe06bc032182a321637333059cb21161cfc6c9ab7194b
#   /etc/haproxy/tls/ca.crt sha256:4c5345030ee1b0da4ba1139f422ee1597c03cac84b52714a366ff5bc5011a435
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl enable haproxy keepalived >/dev/null 2>&1
# The balancers this one lists now (10.40.0.30 10.40.0.31) against those its running HAProxy still
# publishes: a balancer dropped from the list must leave VRRP before this one stops sending it
# adverts, or it hears nothing for three adverts and takes the VIP before its own check (every
# 1 s, fall 2) finds it was dropped. So HAProxy publishes the new list
# first, and Keepalived is reloaded once the dropped balancers' checks have failed.
listed=" 10.40.0.30 10.40.0.31 "
published=$(curl -s --fail --max-time 2 "http://10.40.0.30:7000/vrrp-peers" || true)
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
# A VIP moved as an AWS secondary IP: the timer re-asserts it on the MASTER.
systemctl enable --now pgha-vip-reassert.timer >/dev/null 2>&1 || { log_tail pgha-vip-reassert.timer; exit 1; }
echo "pgha-vip-reassert.timer enabled on lb1"
