"""Every queue key starts with REDIS_KEY_PREFIX, like every other key (an ACL like ``~ss:*`` or a
clean-up by prefix must cover the queue too). Before: SAQ's ``saq:`` namespace came first."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import redis.asyncio as aioredis

import sharestack.job_index  # noqa: F401 - registers the jobs
from sharestack.jobs.queue import RedisJobQueue, saq_queue
from tests.support import servers

pytestmark = pytest.mark.integration


# SAQ's finish() still calls redis-py's deprecated setex; the worker does the same in production.
@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")
async def test_queue_keys_carry_the_prefix(redis_prefix: str) -> None:
    prefix = f"{redis_prefix}{secrets.token_hex(3)}:"
    redis = aioredis.Redis.from_url(f"{servers.REDIS_URL}/2")
    queue = saq_queue(redis, prefix)
    jobs = RedisJobQueue(queue)
    assert await jobs.enqueue("warm_content_cache", "outbox:1", {"content_id": 1})
    assert not await jobs.enqueue("warm_content_cache", "outbox:1", {"content_id": 1})
    before = await redis.keys("saq:*")
    keys = sorted(k.decode() for k in await redis.keys(f"{prefix}*"))
    assert {f"{prefix}q:default:incomplete", f"{prefix}q:default:queued"} <= set(keys), keys
    assert f"{prefix}q:default:job:outbox:1" in keys

    job = await queue.dequeue(timeout=1)
    assert job is not None
    assert job.key == "outbox:1"
    assert job.id == f"{prefix}q:default:job:outbox:1"
    assert (await queue.job("outbox:1")) is not None
    assert await jobs.counts() == (0, 1)

    # A status change reaches whoever waits on the job (the channels moved with the keys).
    waiter = asyncio.create_task(job.refresh(until_complete=2))
    await asyncio.sleep(0.05)
    await queue.finish(job, job.status.COMPLETE, result={"ok": True})
    await asyncio.wait_for(waiter, 3)
    assert job.result == {"ok": True}
    # Nothing of this queue under SAQ's own namespace (other runs may have keys there).
    assert not [k for k in await redis.keys("saq:*") if k not in before and prefix.encode() in k]
    await queue.disconnect()
