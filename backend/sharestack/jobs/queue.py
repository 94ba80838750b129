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
import contextlib
import logging
import math
import random
import time
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from saq import Job, Queue, Status
from saq.queue.redis import PubSubMultiplexer, RedisQueue

from sharestack.jobs import registry

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from sharestack.resources import Resources

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY = 300.0


class JobQueue(Protocol):
    async def enqueue(
        self, function: str, key: str, kwargs: dict[str, Any], *, delay: float = 0.0
    ) -> bool: ...

    async def counts(self) -> tuple[int, int]: ...

    async def close(self) -> None: ...


def queue_name(prefix: str) -> str:
    return f"{prefix}q:default"


def saq_queue(redis: Redis, prefix: str) -> RedisQueue:
    # orjson for job payloads: the kwargs are JSON values already, and it is faster.
    return _SweepSafeQueue(redis, name=queue_name(prefix), dump=orjson.dumps, load=orjson.loads)


class _PrefixedQueue(RedisQueue):
    """SAQ's keys under REDIS_KEY_PREFIX, like every other key of ShareStack.

    SAQ puts its own namespace first (``saq:<name>:queued``, ``saq:job:<name>:<key>``), so with
    the queue named ``ss:q:default`` no queue key started with ``ss:``: an ACL or a clean-up by
    prefix (``~ss:*``, ``SCAN MATCH ss:*``) missed them. Here the queue's lists, sorted sets and
    job hashes are ``<prefix>q:default:<what>`` and ``<prefix>q:default:job:<key>``, and the
    job-status channels ``<prefix>q:default:job:*``. One key SAQ hard-codes stays outside:
    the abort marker ``saq:abort:<job key>``, which lives 5 s while a job is being aborted.
    """

    def __init__(self, redis: Redis, name: str, **kwargs: Any) -> None:
        super().__init__(redis, name=name, **kwargs)
        # Subscribed lazily (on the first wait for a job), so replacing it here is safe.
        self._pubsub = PubSubMultiplexer(redis.pubsub(), prefix=f"{self.name}:job:")

    def namespace(self, key: str) -> str:
        return f"{self.name}:{key}"

    def job_id(self, job_key: str) -> str:
        return f"{self.name}:job:{job_key}"

    def job_key_from_id(self, job_id: str) -> str:
        return job_id[len(f"{self.name}:job:") :]


_SWEEP_SCRIPT = """
local id_jobs = {}
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SETEX', KEYS[1], ARGV[1], 1)
    for i, v in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
        id_jobs[i] = {v, redis.call('GET', v)}
    end
end
return id_jobs
"""


class _SweepSafeQueue(_PrefixedQueue):
    """SAQ's sweep, minus a race that ran jobs twice in our worker test.

    A worker dequeues with BLMOVE (the job id moves to the active list) and only then marks the job
    ACTIVE. SAQ's sweep treats any job in the active list that is not ACTIVE as orphaned and
    re-queues it, so a sweep that lands between those two steps (every worker sweeps right at
    start-up) makes the job run twice. Here a job seen not-ACTIVE in the active list is swept
    only if the previous sweep saw it in the same state: a truly orphaned job (its worker died
    between the two steps) still gets re-queued, one sweep interval later.
    """

    _suspects: set[bytes]

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        if not hasattr(self, "_suspects"):
            self._suspects = set()
        script = self.redis.register_script(_SWEEP_SCRIPT)
        id_jobs = await script(keys=[self._sweep, self._active], args=[lock], client=self.redis)
        if not id_jobs:
            return []  # another worker holds the sweep lock
        swept: list[str] = []
        suspects: set[bytes] = set()
        for job_id, job_bytes in id_jobs:
            job = self.deserialize(job_bytes)
            if job is None:
                continue  # SAQ's own sweep handles missing jobs; rare enough to leave to it
            if job.status == Status.ACTIVE and not job.stuck:
                continue
            if job.status != Status.ACTIVE and not job.stuck and job_id not in self._suspects:
                suspects.add(job_id)
                continue
            logger.info("sweeping job %s", job.key)
            swept.append(job_id.decode())
            await self.abort(job, error=self.swept_error_message)
            with contextlib.suppress(TimeoutError):
                await job.refresh(abort)
            if job.retryable:
                await self.retry(job, error=self.swept_error_message)
            else:
                await self.finish(job, Status.ABORTED, error=self.swept_error_message)
        self._suspects = suspects
        return swept


class RedisJobQueue:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def enqueue(
        self, function: str, key: str, kwargs: dict[str, Any], *, delay: float = 0.0
    ) -> bool:
        """Queue ``function(**kwargs)`` under ``key``; with ``delay``, to run that many seconds
        from now at the earliest (SAQ schedules in whole seconds, rounded up)."""
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
            scheduled=math.ceil(time.time() + delay) if delay > 0 else 0,
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

    def __init__(self, ctx: Resources) -> None:
        self.ctx = ctx
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def enqueue(
        self, function: str, key: str, kwargs: dict[str, Any], *, delay: float = 0.0
    ) -> bool:
        if key in self._tasks:
            return False
        task = asyncio.create_task(self._run(function, key, kwargs, delay), name=f"job {function}")
        self._tasks[key] = task
        task.add_done_callback(lambda _t: self._tasks.pop(key, None))
        return True

    async def _run(self, function: str, key: str, kwargs: dict[str, Any], delay: float) -> None:
        spec = registry.get(function)
        if delay > 0:
            await asyncio.sleep(delay)
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
