# Redis tier: alert rules, the job worker, and the Redis system tests (persistence, failover,
# worker). Included by the root Makefile; uses its variables (PY, PYTEST, BACKEND).

REDIS_SYSTEM_TESTS := tests/system/test_redis_persistence.py tests/system/test_redis_failover.py \
	tests/system/test_worker.py

.PHONY: worker check-alerts test-redis-system

CI_CHECKS += check-alerts

worker: install ## run the job worker (needs REDIS_URL or REDIS_QUEUE_URL; without Redis jobs run inside `make run`)
	cd $(BACKEND) && $(PY) -m sharestack worker

check-alerts: ## validate deploy/prometheus/alerts.yml and run its promtool unit tests
	promtool check rules deploy/prometheus/alerts.yml
	cd deploy/prometheus && promtool test rules alerts_test.yml

test-redis-system: install ## Redis tier system tests: throwaway redis-server/sentinel processes
	$(PYTEST) -q $(REDIS_SYSTEM_TESTS)
