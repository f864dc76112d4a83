#!/bin/sh
# Keepalived's health check: this node may hold the VIP only while HAProxy runs, and only while
# no peer that answers has dropped it from the cluster. A balancer removed from the stack (or replaced)
# runs until its own steps are deleted at the end of the deployment, after the others were reloaded
# without it: from then on they no longer send it VRRP adverts, and without this check it would take
# the VIP as well. It fails instead, and Keepalived puts it in FAULT (no VIP) until it is stopped.
# A peer that does not answer with a list proves nothing (a partition, a balancer not started yet, or
# one whose HAProxy does not publish the list yet: its stats page answers instead).
systemctl is-active --quiet haproxy || exit 1
peers="10.251.17.32"
for peer in $peers; do
    list=$(curl -s --fail --max-time 1 "http://$peer:7000/vrrp-peers") || continue
    case "$list" in
        "pgha-balancers "*) ;;
        *) continue ;;
    esac
    case " $list " in
        *" 10.251.17.31 "*) ;;
        *) exit 1 ;;
    esac
done
exit 0
