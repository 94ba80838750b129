"""The real worker (``python -m sharestack worker``) against a real Redis: publication warms the
cache through the outbox, a rolled-back transaction enqueues nothing, a committed one exactly once,
and a failing job is retried with backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from redis.asyncio import Redis
from saq import Status

from sharestack.cache import keys
from sharestack.content.cached import PAYLOAD_VERSION as V
from sharestack.db.after_commit import write_transaction
from sharestack.dependencies import app_state
from sharestack.jobs import outbox, registry
from sharestack.jobs.models import OutboxJob
from sharestack.jobs.queue import InProcessJobQueue, RedisJobQueue, saq_queue
from tests.integration.helpers import published, signup
from tests.support.processes import ManagedProcess
from tests.support.redis_servers import AppEnv, RedisNode, worker_stack

pytestmark = pytest.mark.system


async def _eventually(check: Any, limit: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {limit}s waiting for {what}")


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[tuple[RedisNode, AppEnv, FastAPI, ManagedProcess]]:
    async with worker_stack(tmp_path, show_log=True) as s:
        yield s.node, s.env, s.app, s.worker


async def test_publication_warms_the_cache_through_outbox_and_worker(
    stack: tuple[RedisNode, AppEnv, FastAPI, ManagedProcess],
) -> None:
    node, _env, app, worker = stack
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        author = await signup(client, "author")
        item = await published(client, author, tags=["warmed"])
    cache = Redis(host="127.0.0.1", port=node.port, password=node.password, db=1)
    prefix = app_state(app).cache.prefix
    # The feeds, by one coalesced job (jobs/coalesce.py); the item is filled by its first reader.
    assert item["status"] == "published"
    wanted = [
        keys.tag_feed(prefix, "warmed", "c=&l=20", V).value,
        keys.creator_feed(prefix, author.user_id, "c=&l=20", V).value,
    ]
    try:

        async def warmed() -> bool:
            return int(await cache.exists(*wanted)) == len(wanted)

        took = await _eventually(warmed, 20, "the worker to warm the cache")
        print(f"\npublish → cache warmed by the worker in {took:.3f}s")
    finally:
        await cache.aclose()
    assert worker.alive()
    async with app_state(app).db.write_sessionmaker() as s:
        rows = (await s.execute(sa.select(OutboxJob))).scalars().all()
    # Registration queued the verification email through the outbox; the warm-up is coalesced
    # outside it (optional work: see jobs/coalesce.py).
    assert [(r.function, r.sent_at is not None) for r in rows] == [
        ("send_email_verification", True),
    ]


async def test_rollback_enqueues_nothing_and_commit_enqueues_once(
    stack: tuple[RedisNode, AppEnv, FastAPI, ManagedProcess],
) -> None:
    _, _, app, _ = stack
    db = app_state(app).db

    class Boom(Exception):
        pass

    async def rolled_back() -> None:
        async with write_transaction(db) as session:
            await outbox.enqueue(session, "warm_content_cache", content_id=10**12)
            raise Boom

    with pytest.raises(Boom):
        await rolled_back()
    async with db.write_sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(OutboxJob)) == 0

    async with write_transaction(db) as session:
        await outbox.enqueue(session, "warm_content_cache", content_id=10**12)
    async with db.write_sessionmaker() as s:
        row = (await s.execute(sa.select(OutboxJob))).scalar_one()

    queue = saq_queue(app_state(app).redis.queue, app_state(app).redis.prefix)

    async def done() -> bool:
        job = await queue.job(f"outbox:{row.id}")
        return job is not None and job.status == Status.COMPLETE

    await _eventually(done, 20, "the committed job to run")
    job = await queue.job(f"outbox:{row.id}")
    assert job is not None
    assert job.attempts == 1
    # A relay that crashed after handing the row over hands it over again: refused while queued.
    again = RedisJobQueue(queue)
    assert await again.enqueue("warm_content_cache", "outbox:dup-check", {"content_id": 1}) is True
    assert await again.enqueue("warm_content_cache", "outbox:dup-check", {"content_id": 1}) is False


async def test_in_process_runner_retries_with_backoff() -> None:
    """The embedded default (no Redis) runs jobs in-process with the same retry policy."""
    attempts: list[float] = []

    async def flaky_for_test(_ctx: Any) -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise RuntimeError("transient")

    registry.JOBS["flaky_for_test"] = registry.JobSpec(
        "flaky_for_test", flaky_for_test, retries=4, retry_delay=0.05, timeout=5
    )
    try:
        runner = InProcessJobQueue(ctx=None)  # type: ignore[arg-type]
        assert await runner.enqueue("flaky_for_test", "k1", {})
        assert not await runner.enqueue("flaky_for_test", "k1", {})  # same key: refused

        async def finished() -> bool:
            return len(attempts) == 3 and (await runner.counts())[1] == 0

        await _eventually(finished, 5, "three attempts")
    finally:
        del registry.JOBS["flaky_for_test"]
