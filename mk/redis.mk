# Redis tier: alert rules, the worker, and the Redis system tests (persistence, failover, queue).
# Included by the root Makefile (include mk/*.mk).

REDIS_SYSTEM_TESTS := tests/system/test_redis_persistence.py

.PHONY: check-alerts test-redis-system

check-alerts: ## validate deploy/prometheus/alerts.yml and run its promtool unit tests
	promtool check rules deploy/prometheus/alerts.yml
	cd deploy/prometheus && promtool test rules alerts_test.yml

test-redis-system: ## Redis tier system tests on throwaway redis-server/sentinel processes
	cd backend && uv run pytest -m system $(REDIS_SYSTEM_TESTS)
