# The API contract (issue 10): the OpenAPI document against the running API. Included by the root
# Makefile; uses its variables (PYTEST). The fuzz module lives in tests/fuzz, so `make test` runs it
# with everything else; `make fuzz` runs it alone and prints how many operations and cases it sent.

# Generated cases per operation and mode (deterministic: the same cases every run).
FUZZ_MAX_EXAMPLES ?= 25

.PHONY: fuzz

fuzz: install ## schemathesis against a real API process on MariaDB + Redis, anonymous and signed in (all checks)
	cd $(BACKEND) && FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) $(VENV)/bin/pytest tests/fuzz -q -s -p no:cacheprovider
