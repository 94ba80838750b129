# Edge and delivery: compose files, the API image, GitHub workflows, nginx. Included by the root
# Makefile (include mk/*.mk). The linters come from the dev dependency group (backend/.venv, via
# `make install`); nginx, docker-compose and shellcheck are Debian packages (.ci/packages/edge.txt).
#
# CI (.ci/run): `make test` runs the edge system tests with the rest of tests/system, and
# `make ci-checks` runs check-deploy (appended to CI_CHECKS below).

EDGE_BIN := $(VENV)/bin
# docker-compose 1.29 (Debian) validates offline; GitHub's runners have `docker compose` instead.
COMPOSE ?= docker-compose
# Placeholder values for every required ${VAR:?}: validation needs them, nothing else reads them.
COMPOSE_ENV := deploy/compose.env.example
WORKFLOWS := $(wildcard .github/workflows/*.yml)
SHELL_SCRIPTS := deploy/scripts/rolling-deploy.sh deploy/certbot/bootstrap-cert.sh \
	deploy/certbot/certbot.sh deploy/nginx/docker-entrypoint.d/40-sharestack-cert-reload.sh
EDGE_SYSTEM_TESTS := tests/system/test_edge.py tests/system/test_rolling_deploy.py

.PHONY: check-deploy check-compose check-dockerfile check-workflows check-yaml check-nginx \
	check-shell check-bandit test-edge

check-deploy: check-compose check-dockerfile check-workflows check-yaml check-nginx check-shell ## validate compose files, Dockerfile, workflows, YAML, nginx config and deploy scripts (offline)

check-compose: install ## docker-compose config -q on both files + Compose-spec schema
	$(COMPOSE) --env-file $(COMPOSE_ENV) -f docker-compose.yml config -q
	$(COMPOSE) --env-file $(COMPOSE_ENV) -f docker-compose.yml -f docker-compose.override.yml config -q
	$(EDGE_BIN)/check-jsonschema --builtin-schema vendor.compose-spec \
		docker-compose.yml docker-compose.override.yml
	@echo "compose files: ok"

check-dockerfile: install ## hadolint on backend/Dockerfile
	$(EDGE_BIN)/hadolint --no-color backend/Dockerfile
	@echo "Dockerfile: ok"

check-workflows: install ## actionlint (with shellcheck on run: blocks) + GitHub workflow and dependabot schemas
	$(EDGE_BIN)/actionlint $(WORKFLOWS)
	$(EDGE_BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(EDGE_BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	@echo "workflows: ok"

check-yaml: install ## yamllint on every YAML file (.yamllint.yaml)
	$(EDGE_BIN)/yamllint --strict .

check-nginx: install ## render deploy/nginx/templates (tls and plain modes) and run nginx -t on them
	cd $(BACKEND) && $(PY) -m tests.support.nginx check

check-shell: ## shellcheck the deploy scripts
	shellcheck $(SHELL_SCRIPTS)
	@echo "deploy scripts: ok"

check-bandit: install ## bandit on the package (medium severity and above)
	cd $(BACKEND) && $(EDGE_BIN)/bandit -q -r sharestack --severity-level medium

test-edge: install ## edge system tests: real nginx in front of two API processes; the rolling deploy against a stand-in docker
	$(PYTEST) -m system $(EDGE_SYSTEM_TESTS) -q

# `make ci-checks` (run by .ci/run after `make test`, which already runs tests/system) validates
# the deploy files too.
CI_CHECKS += check-deploy
