"""Wiring jobs into a process: the API (the relay, plus the in-process runner when embedded) and
the worker. Both open the same :class:`~sharestack.resources.Resources` and import
``sharestack.job_index``, which registers every job."""

from __future__ import annotations

import logging
from typing import Any

from saq import CronJob, Worker

from sharestack.config import Settings
from sharestack.jobs import registry
from sharestack.jobs.coalesce import Coalescer
from sharestack.jobs.outbox import OutboxRelay
from sharestack.jobs.queue import InProcessJobQueue, JobQueue, RedisJobQueue, saq_queue
from sharestack.jobs.schedule import SCHEDULE
from sharestack.metrics.registry import JOBS_RUN
from sharestack.resources import Resources

logger = logging.getLogger(__name__)

# Below the queue client's socket timeout (1 s, ``cache.clients``): a blocking dequeue of a full
# second timed out on the socket instead of in Redis, so every idle poll reconnected (HELLO,
# SELECT, CLIENT SETNAME: three more commands and a handshake), and a job moved to the active list
# just as the socket gave up was left there for the sweep to find.
DEQUEUE_TIMEOUT = 0.5


def queue_for(ctx: Resources) -> JobQueue:
    if ctx.redis.embedded:
        return InProcessJobQueue(ctx)
    return RedisJobQueue(saq_queue(ctx.redis.queue, ctx.redis.prefix))


def announce_job_runner(settings: Settings, embedded: bool) -> None:
    """Say at start-up where jobs run. With a queue Redis the API only queues them: without a
    worker (``make worker``) they wait forever, which ``make run`` alone gives a developer, so
    that case is a WARNING; a deployment runs its workers and hears it at INFO."""
    if embedded:
        logger.info("jobs run inside the API process (no Redis configured)")
        return
    message = (
        "jobs are queued in Redis and run only in a worker process: start one with "
        "`make worker` (python -m sharestack worker)"
    )
    if settings.environment == "development":
        logger.warning(message)
    else:
        logger.info(message)


class ApiJobs:
    """The API process's share: the outbox relay, woken after each commit that added a job, and
    the coalescer, which queues coalesced jobs (``jobs/coalesce.py``) after each commit that
    asked for one."""

    def __init__(self, ctx: Resources) -> None:
        self.ctx = ctx
        self.queue = queue_for(ctx)
        self.relay = OutboxRelay(ctx.db, self.queue)
        self.coalescer = Coalescer(ctx.redis, self.queue)

    def start(self) -> None:
        announce_job_runner(self.ctx.settings, self.ctx.redis.embedded)
        self.ctx.db.after_commit_hooks.append(self.relay.after_commit)
        self.ctx.db.after_commit_hooks.append(self.coalescer.after_commit)
        self.relay.start()

    async def stop(self) -> None:
        await self.relay.stop()
        await self.queue.close()


def _saq_function(ctx: Resources, spec: registry.JobSpec) -> Any:
    async def run(_saq_ctx: dict[str, Any], **kwargs: Any) -> Any:
        try:
            result = await spec.function(ctx, **kwargs)
        except Exception:
            JOBS_RUN.labels(spec.name, "error").inc()
            raise
        JOBS_RUN.labels(spec.name, "ok").inc()
        return result

    run.__qualname__ = run.__name__ = spec.name
    return run


def build_worker(ctx: Resources, settings: Settings) -> Worker[Any]:
    if ctx.redis.embedded:
        raise SystemExit(
            "the worker needs Redis (REDIS_URL or REDIS_QUEUE_URL); without Redis, jobs run "
            "inside the API process"
        )
    functions = {name: _saq_function(ctx, spec) for name, spec in registry.JOBS.items()}
    cron_jobs = [
        CronJob(functions[entry.job], cron=entry.cron, timeout=entry.timeout, retries=1)
        for entry in SCHEDULE
    ]
    scheduled = {entry.job for entry in SCHEDULE}
    return Worker(
        saq_queue(ctx.redis.queue, ctx.redis.prefix),
        functions=[(name, fn) for name, fn in functions.items() if name not in scheduled],
        cron_jobs=cron_jobs,
        concurrency=settings.worker_concurrency,
        # Dequeue blocks on Redis for up to DEQUEUE_TIMEOUT, then the loop checks for shutdown.
        dequeue_timeout=DEQUEUE_TIMEOUT,
        # The grace period also waits for SAQ's endless upkeep loops, so it is always used up:
        # keep it short. Jobs cut off are retried.
        shutdown_grace_period_s=2,
    )
