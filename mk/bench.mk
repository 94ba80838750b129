# Benchmarks and failure drills (bench/, see bench/README.md). Included by the root Makefile; uses
# its variables (PY, VENV, BACKEND). The bench runs from the repository root with backend/ on the
# path, because it starts its servers with backend/tests/support.

BENCH := cd $(CURDIR) && PYTHONPATH=$(BACKEND) $(PY) -m bench

.PHONY: bench drills bench-smoke bench-lint bench-media

# CI runs the smoke (about 3-4 minutes here) so the harness cannot rot: it fails when a figure is
# missing or a request failed outside a drill's fault window, never on a time.
CI_CHECKS += bench-lint bench-smoke

bench: install ## full benchmark: real topology, 100k contents, every scenario at 10 and 100 connections
	$(BENCH) run

drills: install ## failure drills under the mixed workload (Redis failover, DB replica/primary, API kill, cache fill)
	$(BENCH) drills

bench-smoke: install ## CI: short bench + drills on a small data set; checks figures exist and nothing failed
	$(BENCH) smoke

bench-lint: install ## ruff, mypy --strict and the unit tests of bench/ (no servers)
	cd $(CURDIR) && $(VENV)/bin/ruff check --config $(BACKEND)/pyproject.toml bench && \
		$(VENV)/bin/ruff format --check --config $(BACKEND)/pyproject.toml bench
	cd $(CURDIR) && MYPYPATH=$(BACKEND) $(VENV)/bin/mypy --strict --config-file $(BACKEND)/pyproject.toml -p bench
	cd $(CURDIR) && PYTHONPATH=$(BACKEND):. $(VENV)/bin/pytest -c $(BACKEND)/pyproject.toml --rootdir . \
		-p no:cacheprovider -q bench/tests

bench-media: install ## upload throughput and the variants job's time for 12-megapixel JPEGs (in-process, embedded)
	$(BENCH).media
