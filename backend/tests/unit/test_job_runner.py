"""`make run` with REDIS_URL set only queues jobs: it says so loudly at start-up (README,
"Cache, rate limits and jobs")."""

from __future__ import annotations

import logging

import pytest

from sharestack.config import Settings
from sharestack.jobs.runtime import announce_job_runner


def test_development_with_a_queue_redis_warns_that_a_worker_is_needed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="sharestack.jobs.runtime"):
        announce_job_runner(Settings(_env_file=None, redis_url="redis://r:6379"), embedded=False)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "make worker" in record.getMessage()


def test_embedded_and_deployed_processes_only_inform(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sharestack.jobs.runtime"):
        announce_job_runner(Settings(_env_file=None), embedded=True)
        production = Settings(
            _env_file=None, environment="production", secret_key="x" * 40, redis_url="redis://r"
        )
        announce_job_runner(production, embedded=False)
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]
