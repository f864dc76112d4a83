#!/bin/sh
# Keepalived's health check: this node may hold the VIP only while HAProxy runs.
exec systemctl is-active --quiet haproxy
