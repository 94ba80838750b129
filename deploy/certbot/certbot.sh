#!/bin/sh
# Entry point of the certbot service in docker-compose.yml.
#
# 1. Without a certificate, write the self-signed bootstrap one, so nginx (which waits for this
#    service to be healthy) can start and serve the ACME challenge path over plain HTTP.
# 2. Replace the bootstrap certificate with Let's Encrypt's through the webroot flow: certbot
#    writes the challenge into the shared webroot volume, nginx serves it from
#    /.well-known/acme-challenge/. nginx keeps the old certificate in memory meanwhile and reloads
#    when the file changes (deploy/nginx/docker-entrypoint.d/40-sharestack-cert-reload.sh).
# 3. Try to renew twice a day; certbot renews only within 30 days of expiry.
#
# Env: SERVER_NAME and LETSENCRYPT_EMAIL (required), CERTBOT_ISSUE (default true; false keeps the
# bootstrap certificate: development), CERTBOT_STAGING (true uses Let's Encrypt's staging CA, for
# a first rehearsal without hitting the production rate limits).
set -eu

: "${SERVER_NAME:?SERVER_NAME is required}"
: "${LETSENCRYPT_EMAIL:?LETSENCRYPT_EMAIL is required}"
live_dir="/etc/letsencrypt/live/$SERVER_NAME"
webroot=/var/www/certbot
here=$(dirname "$0")

command -v openssl >/dev/null 2>&1 || apk add --no-cache openssl >/dev/null
sh "$here/bootstrap-cert.sh" "$live_dir" "$SERVER_NAME"
mkdir -p "$webroot"

if [ "${CERTBOT_ISSUE:-true}" != "true" ]; then
    echo "certbot: issuance disabled (CERTBOT_ISSUE=${CERTBOT_ISSUE:-}); keeping the bootstrap certificate"
    while :; do sleep 86400; done
fi

staging=""
if [ "${CERTBOT_STAGING:-false}" = "true" ]; then
    staging="--staging"
fi

issue() {
    # certbot will not write into a live/ directory it did not create: move the placeholder away
    # first and put it back if issuance fails, so an nginx restart still finds a certificate.
    rm -rf "$live_dir.bootstrap"
    mv "$live_dir" "$live_dir.bootstrap"
    # shellcheck disable=SC2086 # $staging is empty or one flag
    if certbot certonly --webroot --webroot-path "$webroot" --domain "$SERVER_NAME" \
        --email "$LETSENCRYPT_EMAIL" --agree-tos --no-eff-email --non-interactive \
        --key-type ecdsa --keep-until-expiring $staging; then
        rm -rf "$live_dir.bootstrap"
        echo "certbot: issued a certificate for $SERVER_NAME"
        return 0
    fi
    rm -rf "$live_dir"
    mv "$live_dir.bootstrap" "$live_dir"
    return 1
}

if [ -f "$live_dir/.bootstrap" ]; then
    # The HTTP-01 challenge needs nginx up and answering on port 80.
    until wget -q -O /dev/null "http://nginx/nginx-health"; do
        echo "certbot: waiting for nginx to answer before the first issuance"
        sleep 5
    done
    until issue; do
        echo "certbot: issuance failed; keeping the bootstrap certificate and retrying in 1 h" >&2
        sleep 3600
    done
fi

while :; do
    certbot renew --webroot --webroot-path "$webroot" --non-interactive --quiet ||
        echo "certbot: renewal attempt failed; retrying in 12 h" >&2
    sleep 43200
done
