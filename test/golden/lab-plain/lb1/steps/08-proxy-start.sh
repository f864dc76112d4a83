#!/bin/bash
# Starts (or reloads) HAProxy, then Keepalived, on lb1. The balancers' steps run one after
# the other. HAProxy's reload keeps its server states (server-state-file); Keepalived's keeps its
# VRRP state, so the VIP does not move.
# Applies (a change to any of these files re-runs this step):
#   /etc/haproxy/haproxy.cfg sha256:bb05f58e365001cf8dd31f3cd49b5301713dc3b415a1ba72fcf6d15beeea74b6
#   /etc/systemd/system/haproxy.service.d/pulumi-patroni.conf sha256:0c14c295548fcb298b6b62940f05a8f8074b6cfc5a4a76696516304807c3f03d
#   /etc/keepalived/check-haproxy.sh sha256:b6848412b10ac4ae7cd1d8bc954afc9f4028cfee324cd4fbf856d2cc0b970fda
#   /etc/keepalived/notify-master.sh sha256:26298bf67f8c60cfe7ff8f251c92a190de744e2f951afc63bedc1301a1374950
#   /etc/keepalived/keepalived.conf sha256:1a5ea77355bc4176304d8c209ec6136b777ef8748d50683d31f2fd399a944fa5
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
systemctl enable haproxy keepalived >/dev/null 2>&1
# The balancers this one lists now (10.251.17.31 10.251.17.32) against those its running HAProxy still
# publishes: a balancer dropped from the list must leave VRRP before this one stops sending it
# adverts, or it hears nothing for three adverts and takes the VIP before its own check (every
# 1 s, fall 2) finds it was dropped. So HAProxy publishes the new list
# first, and Keepalived is reloaded once the dropped balancers' checks have failed.
listed=" 10.251.17.31 10.251.17.32 "
published=$(curl -s --fail --max-time 2 "http://10.251.17.31:7000/vrrp-peers" || true)
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
