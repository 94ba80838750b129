#!/bin/sh
# Runs once from nginx's official entrypoint (/docker-entrypoint.d/), before nginx starts, and
# leaves a watcher behind: when the TLS certificate file changes (first Let's Encrypt issuance,
# a renewal by the certbot service), nginx reloads, after testing the new state, without dropping
# connections. The certbot container cannot signal nginx itself, and a blind reload every few
# hours would leave the bootstrap certificate in place for hours after the first issuance.
set -eu

cert=${NGINX_TLS_CERT:-}
interval=${NGINX_CERT_CHECK_INTERVAL:-60}
if [ -z "$cert" ] || [ "${NGINX_SITE_MODE:-tls}" != "tls" ]; then
    exit 0
fi

(
    last=$(cksum "$cert" 2>/dev/null || true)
    while sleep "$interval"; do
        now=$(cksum "$cert" 2>/dev/null || true)
        if [ -n "$now" ] && [ "$now" != "$last" ] && nginx -t -q; then
            nginx -s reload && last=$now
            echo "sharestack: certificate changed; nginx reloaded"
        fi
    done
) &
