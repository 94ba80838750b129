#!/usr/bin/env bash
# Roll the API to a new image on a compose host, one instance at a time, behind nginx.
#
# usage: deploy/scripts/rolling-deploy.sh [--no-migrate] IMAGE@sha256:DIGEST
#
# Run from the release directory on the host (the one holding docker-compose.yml and .env); the
# deploy and rollback workflows call it over SSH. Steps:
#   1. pull the image; run the one-shot migration with it (migrations are expand/contract, so the
#      instances still on the old image keep working against the new schema);
#   2. for each running API instance: start one instance of the new image next to it, wait until
#      Docker reports it healthy (its healthcheck is /readyz), reload nginx so it resolves the new
#      instance, stop the old one gracefully (SIGTERM: uvicorn finishes in-flight requests, nginx
#      retries idempotent requests elsewhere), reload nginx again; an instance already running
#      the image is kept; finally back to the number of instances that ran before;
#   3. gate: /readyz through nginx must answer 200;
#   4. on any failure: roll back to the previously deployed image (same procedure, no migration)
#      and exit non-zero. The deployed image history is in $STATE_DIR/releases.log.
#
# Env: SERVER_NAME and HTTPS_PUBLISH_PORT (from .env), STATE_DIR (default ./state),
# READY_TIMEOUT (s, default 120), COMPOSE_PROJECT_NAME (default sharestack), GATE_URL.
set -euo pipefail

migrate=1
rolling_back=0
while [ $# -gt 1 ]; do
    case $1 in
        --no-migrate) migrate=0 ;;
        --rolling-back) rolling_back=1; migrate=0 ;;
        *) echo "unknown option $1" >&2; exit 64 ;;
    esac
    shift
done
[ $# -eq 1 ] || { echo "usage: $0 [--no-migrate] IMAGE@sha256:DIGEST" >&2; exit 64; }
image=$1
case $image in
    *@sha256:*) ;;
    *) echo "deploy by digest only (IMAGE@sha256:...), got: $image" >&2; exit 64 ;;
esac

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-sharestack}
if [ -f .env ]; then
    # SERVER_NAME and the published ports live in the release directory's .env, as for compose.
    set -a
    # shellcheck disable=SC1091
    . ./.env
    set +a
fi
state_dir=${STATE_DIR:-./state}
ready_timeout=${READY_TIMEOUT:-120}
mkdir -p "$state_dir"
previous=$(cat "$state_dir/current-image" 2>/dev/null || true)
export API_IMAGE=$image
compose=(docker compose -f docker-compose.yml)

log() { printf '%s deploy: %s\n' "$(date -u +%FT%TZ)" "$*"; }

rollback() {
    local why=$1
    log "FAILED: $why"
    if [ "$rolling_back" = 1 ] || [ -z "$previous" ] || [ "$previous" = "$image" ]; then
        log "no earlier image to roll back to (or already rolling back); leaving instances as they are"
        exit 1
    fi
    log "rolling back to $previous"
    printf '%s rollback-from %s to %s (%s)\n' "$(date -u +%FT%TZ)" "$image" "$previous" "$why" \
        >> "$state_dir/releases.log"
    DESIRED_INSTANCES=$desired "$0" --rolling-back "$previous" || log "rollback failed too: intervene by hand (docs/operations.md)"
    exit 1
}

reload_nginx() {
    "${compose[@]}" exec -T nginx nginx -s reload >/dev/null
}

image_of() { # $1 = container id
    docker inspect --format '{{.Config.Image}}' "$1" 2>/dev/null || true
}

health_of() { # $1 = container id
    docker inspect --format '{{.State.Health.Status}}' "$1" 2>/dev/null || echo gone
}

remove_instance() { # $1 = container id: out of nginx's rotation, then stopped gracefully
    log "stopping instance ${1:0:12}"
    # SIGTERM: uvicorn finishes in-flight requests; nginx retries idempotent ones elsewhere.
    docker stop --time 30 "$1" >/dev/null
    docker rm "$1" >/dev/null
    reload_nginx
}

wait_healthy() { # $1 = container id
    local deadline=$((SECONDS + ready_timeout)) status
    while [ $SECONDS -lt $deadline ]; do
        status=$(health_of "$1")
        case $status in
            healthy) return 0 ;;
            gone) return 1 ;;
        esac
        sleep 2
    done
    return 1
}

mapfile -t old_ids < <("${compose[@]}" ps -q api)
# How many instances to leave running: what was running before this deploy started (a rollback
# is told the number, since a failed rollout may have left an extra instance behind).
desired=${DESIRED_INSTANCES:-${#old_ids[@]}}
[ "$desired" -gt 0 ] || desired=2

log "deploying $image (previous: ${previous:-none})"
docker pull --quiet "$image" >/dev/null || rollback "cannot pull $image"

if [ "$migrate" = 1 ]; then
    log "running migrations"
    "${compose[@]}" run --rm --no-deps migrate || rollback "migration failed"
fi

known=("${old_ids[@]}")
for old in "${old_ids[@]}"; do
    if [ "$(image_of "$old")" = "$image" ] && [ "$(health_of "$old")" = healthy ]; then
        log "instance ${old:0:12} already runs $image"
        continue
    fi
    running=$("${compose[@]}" ps -q api | wc -l)
    "${compose[@]}" up -d --no-deps --no-recreate --scale "api=$((running + 1))" api
    new=""
    while read -r id; do
        # shellcheck disable=SC2076 # literal match against the list of known ids
        [[ " ${known[*]} " =~ " $id " ]] || new=$id
    done < <("${compose[@]}" ps -q api)
    [ -n "$new" ] || rollback "no new API instance appeared"
    known+=("$new")
    log "new instance ${new:0:12} started; waiting for it to be ready"
    wait_healthy "$new" || rollback "instance ${new:0:12} did not become ready in ${ready_timeout}s"
    reload_nginx
    remove_instance "$old"
done
# Back to the desired number of instances, dropping any that do not run this image first.
mapfile -t now < <("${compose[@]}" ps -q api)
extra=$((${#now[@]} - desired))
for id in "${now[@]}"; do
    [ "$extra" -gt 0 ] || break
    if [ "$(image_of "$id")" != "$image" ]; then remove_instance "$id"; extra=$((extra - 1)); fi
done
for id in "${now[@]}"; do
    [ "$extra" -gt 0 ] || break
    if [ "$(image_of "$id")" = "$image" ]; then remove_instance "$id"; extra=$((extra - 1)); fi
done

# The gate goes through nginx exactly as clients do, with the host name nginx serves, pinned to
# this host's published HTTPS port. --insecure: the gate checks the path through nginx to a ready
# instance; certificate expiry is watched separately (docs/operations.md, certificates).
https_port=${HTTPS_PUBLISH_PORT:-443}
server_name=${SERVER_NAME:?SERVER_NAME must be set (it is in .env)}
gate_url=${GATE_URL:-https://$server_name:$https_port/readyz}
log "gate: $gate_url"
if ! curl --fail --silent --show-error --insecure --max-time 10 --retry 5 --retry-delay 2 \
    --retry-all-errors --resolve "$server_name:$https_port:127.0.0.1" "$gate_url" >/dev/null; then
    rollback "the readiness gate through nginx failed"
fi

[ -n "$previous" ] && [ "$previous" != "$image" ] && printf '%s\n' "$previous" > "$state_dir/previous-image"
printf '%s\n' "$image" > "$state_dir/current-image"
# A later plain `docker compose up -d` must start this image, not the one .env named before.
if [ -f .env ]; then
    sed -i "s|^API_IMAGE=.*|API_IMAGE=$image|" .env
fi
printf '%s deployed %s\n' "$(date -u +%FT%TZ)" "$image" >> "$state_dir/releases.log"
log "done: $image is live on $desired instance(s)"
