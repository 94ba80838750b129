"""Where relayed jobs go: SAQ on the queue Redis, or an in-process runner without Redis.

Why SAQ: it is asyncio-native on redis-py (the client ShareStack already uses, so Sentinel, retries
and the +switch-master handling apply to the queue too), it has per-job retries with exponential
backoff and jitter, cron jobs, job keys that refuse duplicates (which the outbox relies on),
heartbeats and sweeping of jobs whose worker died, and it is actively maintained. arq, the usual
first choice, pins redis-py below 6; Dramatiq is thread-based; taskiq needs a broker plugin and a
separate scheduler process for cron.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from saq import Job, Queue
from saq.queue.redis import RedisQueue

from sharestack.jobs import registry

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from sharestack.jobs.context import JobContext

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY = 300.0


class JobQueue(Protocol):
    async def enqueue(self, function: str, key: str, kwargs: dict[str, Any]) -> bool: ...

    async def counts(self) -> tuple[int, int]: ...

    async def close(self) -> None: ...


def queue_name(prefix: str) -> str:
    return f"{prefix}q:default"


def saq_queue(redis: Redis, prefix: str) -> RedisQueue:
    # orjson for job payloads: the kwargs are JSON values already, and it is faster.
    return RedisQueue(redis, name=queue_name(prefix), dump=orjson.dumps, load=orjson.loads)


class RedisJobQueue:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def enqueue(self, function: str, key: str, kwargs: dict[str, Any]) -> bool:
        spec = registry.get(function)
        job = Job(
            function=function,
            kwargs=kwargs,
            key=key,
            retries=spec.retries,
            retry_delay=spec.retry_delay,
            retry_backoff=MAX_RETRY_DELAY,
            timeout=spec.timeout,
            ttl=3600,
        )
        # None means a job with this key is already queued or running: the duplicate is dropped.
        return await self.queue.enqueue(job) is not None

    async def counts(self) -> tuple[int, int]:
        return await self.queue.count("queued"), await self.queue.count("active")

    async def close(self) -> None:
        # The Redis client belongs to RedisRoles, which closes it.
        pass


class InProcessJobQueue:
    """The embedded default: jobs run as tasks in this process, with the same retry policy."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def enqueue(self, function: str, key: str, kwargs: dict[str, Any]) -> bool:
        if key in self._tasks:
            return False
        task = asyncio.create_task(self._run(function, key, kwargs), name=f"job {function}")
        self._tasks[key] = task
        task.add_done_callback(lambda _t: self._tasks.pop(key, None))
        return True

    async def _run(self, function: str, key: str, kwargs: dict[str, Any]) -> None:
        spec = registry.get(function)
        for attempt in range(1, spec.retries + 1):
            try:
                await asyncio.wait_for(registry.call(self.ctx, function, kwargs), spec.timeout)
                return
            except Exception:
                if attempt == spec.retries:
                    logger.exception("job %s (%s) failed after %d attempts", function, key, attempt)
                    return
                delay = min(MAX_RETRY_DELAY, spec.retry_delay * 2 ** (attempt - 1))
                await asyncio.sleep(random.uniform(0, delay))  # noqa: S311 (jitter)

    async def counts(self) -> tuple[int, int]:
        return 0, len(self._tasks)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
