# ShareStack: one entry point per chore. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/bin/uv
BACKEND := $(CURDIR)/backend
VENV := $(BACKEND)/.venv
PY := $(VENV)/bin/python
PYTEST := cd $(BACKEND) && $(VENV)/bin/pytest

.PHONY: help install run dev migrate lint format typecheck test test-fast test-unit \
	test-integration test-system alembic-check ci-checks system-packages clean

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) $(BACKEND)/pyproject.toml $(BACKEND)/uv.lock
	cd $(BACKEND) && $(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced ## create backend/.venv from the lock file (uv)

run: install ## serve the API on 127.0.0.1:8000 (embedded SQLite + in-process Redis unless configured)
	cd $(BACKEND) && $(PY) -m sharestack serve

dev: install ## like run, restarting on code changes
	cd $(BACKEND) && $(PY) -m sharestack serve --reload

migrate: install ## apply database migrations to DATABASE_URL (or the embedded database)
	cd $(BACKEND) && $(PY) -m sharestack migrate

format: install ## format the code
	cd $(BACKEND) && $(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

lint: install ## ruff lint and format check, and the import rules (lint-imports, pyproject.toml)
	cd $(BACKEND) && $(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && \
		$(VENV)/bin/lint-imports --no-cache

typecheck: install ## mypy --strict on the package
	cd $(BACKEND) && $(VENV)/bin/mypy

test-unit: install ## the unit tier: no I/O, seconds
	$(PYTEST) tests/unit -q

test-fast: test-unit ## the edit loop (unit tier)

test-integration: install ## the integration tier: real MariaDB (127.0.0.1:3306) and Redis (6379)
	$(PYTEST) tests/integration -q

test-system: install system-packages ## the system tier: throwaway servers (replicas, sentinels, nginx, API processes)
	$(PYTEST) tests/system -q

alembic-check: install ## models and migrations agree (against a scratch MariaDB database)
	cd $(BACKEND) && $(PY) -m tests.support.alembic_check

system-packages: ## install the Debian packages the system tier and checks need (.ci/packages)
	deploy/scripts/install-system-packages.sh

test: system-packages lint typecheck ## everything: lint, types, unit, integration and system tiers
	$(PYTEST) tests -q

# Areas append their offline checks (compose, nginx -t, alert rules, ...) to CI_CHECKS in mk/*.mk.
CI_CHECKS := alembic-check

clean: ## remove the virtualenvs, caches and the embedded database
	rm -rf $(TOOLS) $(VENV) $(BACKEND)/var $(BACKEND)/.mypy_cache $(BACKEND)/.ruff_cache \
		$(BACKEND)/.pytest_cache

-include mk/*.mk

ci-checks: $(CI_CHECKS) ## the checks CI runs after the tests (alembic check and each area's own)
