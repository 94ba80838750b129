"""The job worker process (``python -m sharestack worker``): SAQ on the queue Redis, with the
same resources the API opens and every job of ``sharestack.job_index``."""

from __future__ import annotations

import logging

import sharestack.job_index  # noqa: F401 - registers every job
from sharestack.config import Settings
from sharestack.jobs.runtime import build_worker
from sharestack.payments.runtime import build_providers
from sharestack.resources import Resources

logger = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    # The replica monitor too (fills read caught-up replicas); the providers for query jobs and
    # renewals.
    ctx = await Resources.open(settings, payments=build_providers)
    worker = build_worker(ctx, settings)
    logger.info("worker started", extra={"event": "worker_start", "queue": worker.queue.name})
    try:
        # SAQ installs its own SIGTERM/SIGINT handlers: start() returns once it has stopped,
        # after running jobs were given the grace period and the rest was cancelled (and will be
        # retried: every job is idempotent).
        await worker.start()
    finally:
        await ctx.close()
        logger.info("worker stopped", extra={"event": "worker_stop"})
