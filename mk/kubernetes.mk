# Kubernetes (deploy/kubernetes): kustomize base, production and development overlays, deploy.sh.
# Included by the root Makefile (include mk/*.mk). kubectl renders the overlays (`kubectl
# kustomize`, no cluster needed; preinstalled on our machines); the schemas come with the
# kubernetes-validate package in the dev dependency group (backend/.venv, via `make install`), so
# the check runs offline.
#
# CI (.ci/run): `make test` runs tests/unit/deploy/test_kubernetes.py with the unit tier, and
# `make ci-checks` runs check-kubernetes (appended to CI_CHECKS below).

# The oldest Kubernetes release the manifests are validated against (kubectl here is 1.32).
KUBERNETES_VERSION ?= 1.32.0
KUBERNETES_TESTS := tests/unit/deploy/test_kubernetes.py

.PHONY: check-kubernetes

check-kubernetes: install ## render every deploy/kubernetes overlay, validate it against the Kubernetes schemas (strict, offline), assert its invariants, shellcheck deploy.sh
	@command -v kubectl >/dev/null || { echo "check-kubernetes: kubectl not found; install kubectl 1.27+ (it includes kustomize)" >&2; exit 1; }
	cd $(BACKEND) && $(PY) -m tests.support.kubernetes check --kubernetes-version $(KUBERNETES_VERSION)
	$(PYTEST) $(KUBERNETES_TESTS) -q
	shellcheck deploy/kubernetes/deploy.sh
	@echo "kubernetes manifests: ok"

CI_CHECKS += check-kubernetes
