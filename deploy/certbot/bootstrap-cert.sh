#!/bin/sh
# Write a self-signed placeholder certificate so nginx can start before Let's Encrypt has issued
# the real one (nginx refuses to start without the files its config names).
#
# Usage: bootstrap-cert.sh CERT_DIR NAME [EXTRA_SAN ...]
#   CERT_DIR   where fullchain.pem, privkey.pem and chain.pem go (certbot's live/NAME layout)
#   NAME       the certificate's common name and first DNS subjectAltName
#   EXTRA_SAN  more subjectAltName entries, e.g. IP:127.0.0.1
# Env: BOOTSTRAP_CERT_DAYS (default 30).
#
# Does nothing when CERT_DIR/fullchain.pem already exists. Marks the placeholder with
# CERT_DIR/.bootstrap, so certbot.sh knows to replace it. POSIX sh: it runs in the certbot image
# (Alpine) and in the system tests (Debian).
set -eu

if [ "$#" -lt 2 ]; then
    echo "usage: $0 CERT_DIR NAME [EXTRA_SAN ...]" >&2
    exit 2
fi
cert_dir=$1
name=$2
shift 2

if [ -s "$cert_dir/fullchain.pem" ] && [ -s "$cert_dir/privkey.pem" ]; then
    echo "bootstrap-cert: $cert_dir already has a certificate; leaving it alone"
    exit 0
fi

san="DNS:$name"
for extra in "$@"; do
    san="$san,$extra"
done

mkdir -p "$cert_dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$cert_dir/privkey.pem" -out "$cert_dir/fullchain.pem" \
    -days "${BOOTSTRAP_CERT_DAYS:-30}" -subj "/CN=$name" \
    -addext "subjectAltName=$san" 2>/dev/null
umask 022
cp "$cert_dir/fullchain.pem" "$cert_dir/chain.pem"
: > "$cert_dir/.bootstrap"
echo "bootstrap-cert: wrote a self-signed certificate for $san to $cert_dir"
