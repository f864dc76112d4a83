#!/bin/bash
# Before any file of this deployment changes, on every host: its patroni TLS files may change only in
# a way that leaves every host and client able to verify every other. Every host trusts the same
# CAs, so two checks here cover every pair: the new certificate comes from a CA that pg3
# (like every host) trusts now, and the certificate it serves now comes from a CA it will still
# trust. A CA rotation takes three runs: trust the new CA, sign with it, drop the old one.
set -euo pipefail
export LC_ALL=C
# Print the last lines of a unit's log to stderr, for the deployment's error message.
log_tail() {
    echo "--- last lines of $1 on $(hostname) ---" >&2
    journalctl -u "$1" -n 40 --no-pager -o cat >&2 || true
}
trusted='/etc/patroni/tls/ca.crt'
if [ ! -f "$trusted" ]; then
    echo "TLS on pg3 (patroni): no CAs yet, nothing to keep trusted"
    exit 0
fi
if ! command -v openssl >/dev/null; then
    echo "TLS on pg3: openssl is not installed, and checking a certificate change needs it. Fix: install it (apt-get install openssl, or dnf install openssl); this project's install step does on new hosts." >&2
    exit 1
fi
new=$(mktemp -d)
trap 'rm -rf "$new"' EXIT
# Standard input: the CAs to trust, then (a host that serves TLS) its certificate after "# certificate".
awk -v dir="$new" '$0 == "# certificate" { out = dir "/host.crt"; next } { print > (out ? out : dir "/ca.crt") }'
# Fails, printing why, when <certificate> does not verify against <CA file>: the chain, not the dates
# (an expired certificate may be renewed), and as strictly as Python 3.13's ssl (Patroni's REST API
# and clients on Debian 13) checks it: X509_STRICT wants, e.g., keyUsage keyCertSign on a CA (RFC 5280).
verify() {
    local out
    out=$(openssl verify -x509_strict -no_check_time -partial_chain -CAfile "$1" "$2" 2>&1) && return 0
    printf '%s\n' "$out" | sed -n 's/^error [0-9]* at [0-9]* depth lookup: //p' | head -n 1
    return 1
}
issuer() { openssl x509 -noout -issuer -nameopt oneline -in "$1" | sed 's/^issuer= *//'; }
if [ -s "$new/host.crt" ] && ! reason=$(verify "$trusted" "$new/host.crt"); then
    if [ "$reason" = "unable to get local issuer certificate" ]; then
        echo "TLS on pg3 (patroni): the new certificate comes from CA \"$(issuer "$new/host.crt")\", which the hosts do not trust yet ($trusted): its peers would refuse it until their CAs change. No host's configuration, certificate or key was changed." >&2
        echo "Fix: first run with that CA named in tls.trustedCas and tls.signingCa as it was (every host, and the caCertificate output, then trust both); then make it tls.signingCa. A CA made again under the same name (e.g. tls.caValidityDays changed) cannot be trusted first: keep the name's settings, and rotate to a CA of a new name." >&2
    else
        echo "TLS on pg3 (patroni): the new certificate from CA \"$(issuer "$new/host.crt")\" does not verify as Python 3.13 (Patroni on Debian 13) verifies it: ${reason:-openssl verify failed}. No host's configuration, certificate or key was changed." >&2
        echo "Fix: sign with a CA whose certificate follows RFC 5280 (keyUsage with keyCertSign, a subject key identifier), e.g. openssl req -x509 -addext keyUsage=critical,keyCertSign,cRLSign." >&2
    fi
    exit 1
fi
current='/etc/patroni/tls/host.crt'
if [ -n "$current" ] && [ -f "$current" ] && ! reason=$(verify "$new/ca.crt" "$current"); then
    echo "TLS on pg3 (patroni): the certificate it serves now comes from CA \"$(issuer "$current")\", which the new CAs (tls.signingCa and tls.trustedCas) drop (${reason:-openssl verify failed}): the other hosts would refuse it until its replacement arrives. No host's configuration, certificate or key was changed." >&2
    echo "Fix: keep that CA in tls.trustedCas for this run, and drop it in the next (once every host's certificate comes from tls.signingCa)." >&2
    exit 1
fi
echo "TLS on pg3 (patroni): every certificate stays verifiable by every host"
