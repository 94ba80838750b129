#!/usr/bin/env bash
# Deploy a ShareStack release to Kubernetes: the migration first, to completion, then the rollout.
#
# usage: deploy/kubernetes/deploy.sh [--no-migrate] OVERLAY IMAGE@sha256:DIGEST
#   OVERLAY   a directory name under deploy/kubernetes/overlays (production, development)
#   IMAGE     the API image by digest, e.g. ghcr.io/OWNER/sharestack-api@sha256:... (from the
#             "Build and push" run's summary); --no-migrate for a rollback to an earlier digest
#
# The overlay is rendered with the image set to that digest, then applied in three phases, chosen
# by the label sharestack.io/deploy-phase on the rendered objects:
#   1. everything without the label: namespace, ConfigMaps (hashed names, so the running pods keep
#      theirs), Services, policies, budgets, the autoscaler, a development data tier; then wait
#      for any StatefulSet of the overlay to be ready;
#   2. "migrate": the Job sharestack-migrate (the previous release's Job is deleted first: a Job's
#      pod template cannot change). Wait until it is Complete; if it fails or times out, stop
#      here: nothing of the new release serves, the previous one keeps serving;
#   3. "rollout": the api, worker and nginx Deployments (rolling updates, one new pod ready on
#      /readyz before an old one stops). If one does not finish within ROLLOUT_TIMEOUT, undo the
#      rollouts of this phase (kubectl rollout undo) and exit non-zero.
# Migrations are expand/contract (docs/operations.md, "Migrations"), so the pods still on the old
# image keep working against the new schema in phases 2 and 3, and a rollback never migrates down.
#
# Env: KUBECTL (default kubectl; its current context chooses the cluster), MIGRATE_TIMEOUT (s,
# default 900), ROLLOUT_TIMEOUT (s, default 600).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kubectl=${KUBECTL:-kubectl}
migrate_timeout=${MIGRATE_TIMEOUT:-900}
rollout_timeout=${ROLLOUT_TIMEOUT:-600}
app_image=ghcr.io/sharestack/sharestack-api

migrate=1
if [ "${1:-}" = "--no-migrate" ]; then migrate=0; shift; fi
[ $# -eq 2 ] || { echo "usage: $0 [--no-migrate] OVERLAY IMAGE@sha256:DIGEST" >&2; exit 64; }
overlay=$1
image=$2
[ -f "$here/overlays/$overlay/kustomization.yaml" ] || { echo "no overlay $overlay" >&2; exit 64; }
case $image in
    *@sha256:*) ;;
    *) echo "deploy by digest only (IMAGE@sha256:...), got: $image" >&2; exit 64 ;;
esac
namespace=$(awk '$1 == "namespace:" {print $2; exit}' "$here/overlays/$overlay/kustomization.yaml")
[ -n "$namespace" ] || { echo "overlay $overlay sets no namespace" >&2; exit 64; }

log() { printf '%s deploy: %s\n' "$(date -u +%FT%TZ)" "$*"; }
fail() { log "FAILED: $*"; exit 1; }
k() { "$kubectl" --namespace "$namespace" "$@"; }

# kustomize refuses absolute resource paths: render from a scratch kustomization beside the
# overlays that points at the overlay and pins the image.
work=$(mktemp -d "$here/.deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../overlays/$overlay
images:
  - name: $app_image
    newName: ${image%@*}
    digest: ${image#*@}
EOF
"$kubectl" kustomize "$work" > "$work/rendered.yaml"
previous=$(k get deployment sharestack-api -o jsonpath='{.spec.template.spec.containers[0].image}' \
    2>/dev/null || true)
log "deploying $image to namespace $namespace (overlay $overlay; running: ${previous:-nothing})"

# --- 1. configuration, services, policies (and a development data tier) ------------------------
"$kubectl" apply -f "$work/rendered.yaml" --selector '!sharestack.io/deploy-phase'
for sts in $(k get statefulset --selector app.kubernetes.io/part-of=sharestack -o name); do
    k rollout status "$sts" --timeout "${rollout_timeout}s" || fail "$sts is not ready"
done

# --- 2. the migration, to completion -------------------------------------------------------------
if [ "$migrate" = 1 ]; then
    k delete job sharestack-migrate --ignore-not-found --wait=true
    "$kubectl" apply -f "$work/rendered.yaml" --selector sharestack.io/deploy-phase=migrate
    deadline=$((SECONDS + migrate_timeout))
    while :; do
        conditions=$(k get job sharestack-migrate \
            -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')
        case " $conditions " in
            *" Complete "*) log "migration complete"; break ;;
            *" Failed "*) fail "migration failed; see: $kubectl -n $namespace logs job/sharestack-migrate" ;;
        esac
        [ "$SECONDS" -lt "$deadline" ] || fail "migration not complete after ${migrate_timeout}s"
        sleep 5
    done
else
    log "no migration (--no-migrate)"
fi

# --- 3. the rollout --------------------------------------------------------------------------------
"$kubectl" apply -f "$work/rendered.yaml" --selector sharestack.io/deploy-phase=rollout
mapfile -t rollouts < <(k get deployment --selector sharestack.io/deploy-phase=rollout -o name)
for deployment in "${rollouts[@]}"; do
    if ! k rollout status "$deployment" --timeout "${rollout_timeout}s"; then
        log "$deployment did not become ready; undoing this phase's rollouts"
        for undo in "${rollouts[@]}"; do
            k rollout undo "$undo" || true
        done
        for undo in "${rollouts[@]}"; do
            k rollout status "$undo" --timeout "${rollout_timeout}s" || true
        done
        fail "rolled back to the previous revisions (running before: ${previous:-nothing})"
    fi
done
log "deployed $image"
