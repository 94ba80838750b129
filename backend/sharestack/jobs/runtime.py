"""Wiring jobs into a process: the API (the relay, plus the in-process runner when embedded) and
the worker."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from saq import CronJob, Worker

from sharestack.jobs import registry
from sharestack.jobs.context import JobContext
from sharestack.jobs.outbox import OutboxRelay
from sharestack.jobs.queue import InProcessJobQueue, JobQueue, RedisJobQueue, saq_queue
from sharestack.jobs.schedule import SCHEDULE
from sharestack.metrics.registry import JOBS_RUN

if TYPE_CHECKING:
    from sharestack.config import Settings

logger = logging.getLogger(__name__)


def queue_for(ctx: JobContext) -> JobQueue:
    if ctx.redis.embedded:
        return InProcessJobQueue(ctx)
    return RedisJobQueue(saq_queue(ctx.redis.queue, ctx.redis.prefix))


class ApiJobs:
    """The API process's share: the outbox relay, woken after each commit that added a job."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.queue = queue_for(ctx)
        self.relay = OutboxRelay(ctx.db, self.queue)

    def start(self) -> None:
        self.ctx.db.after_commit_hooks.append(self.relay.after_commit)
        self.relay.start()

    async def stop(self) -> None:
        await self.relay.stop()
        await self.queue.close()


def _saq_function(ctx: JobContext, spec: registry.JobSpec) -> Any:
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


def build_worker(ctx: JobContext, settings: Settings) -> Worker[Any]:
    if ctx.redis.embedded:
        raise SystemExit(
            "the worker needs Redis (REDIS_URL or REDIS_QUEUE_URL); without Redis, jobs run "
            "inside the API process"
        )
    registry.get("warm_content_cache")  # import the task modules
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
        # Dequeue blocks on Redis for up to 1 s, then the loop checks for shutdown.
        dequeue_timeout=1.0,
        # The grace period also waits for SAQ's endless upkeep loops, so it is always used up:
        # keep it short. Jobs cut off are retried.
        shutdown_grace_period_s=2,
    )


async def run_worker(settings: Settings) -> None:
    from sharestack.cache.aside import CacheAside
    from sharestack.cache.redis import RedisRoles
    from sharestack.db.engine import Database

    db = Database(settings)
    roles = RedisRoles.from_settings(settings)
    roles.start()
    cache = CacheAside(
        roles.cache if settings.cache_enabled else None,
        prefix=roles.key("cache"),
        stampede_guard=settings.cache_stampede_guard,
    )
    from sharestack.cache.invalidation import after_commit_hook

    db.after_commit_hooks.append(after_commit_hook(cache, db))
    ctx = JobContext(settings=settings, db=db, redis=roles, cache=cache)
    worker = build_worker(ctx, settings)
    logger.info("worker started", extra={"event": "worker_start", "queue": worker.queue.name})
    try:
        # SAQ installs its own SIGTERM/SIGINT handlers: start() returns once it has stopped,
        # after running jobs were given the grace period and the rest was cancelled (and will be
        # retried: every job is idempotent).
        await worker.start()
    finally:
        await cache.aclose()
        await roles.close()
        await db.dispose()
        logger.info("worker stopped", extra={"event": "worker_stop"})
