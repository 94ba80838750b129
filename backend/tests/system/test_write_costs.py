"""What the benchmark's "writes" scenario costs Redis, counted the way the bench counts it: INFO
``total_commands_processed`` (every command a Lua script runs counts, and so does the worker's
processing of the jobs the writes enqueued) divided by the requests.

A private Redis server serves this test alone (sessions, rate limits, cache and queue on its
databases 0..3, as in a single-instance deployment), so no other test can disturb the counts.
The worker's idle polling (its blocking dequeue, SAQ's schedule and sweep loops) is not a cost of
any request: it is measured on the idle stack just before and subtracted, pro rata.

``tests/integration/test_io_budget.py`` holds the per-request client-side budget; this test holds
the whole bill of the create + publish pair, the worker's share included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.dependencies import app_state
from sharestack.jobs.models import OutboxJob
from sharestack.jobs.queue import queue_name
from tests.integration.helpers import Account, signup
from tests.support.processes import ManagedProcess
from tests.support.redis_servers import RedisNode, worker_stack

pytestmark = pytest.mark.system

PAIRS = 100  # create + publish pairs measured
AUTHORS = 5
CONNECTIONS = 8
SNAPSHOT = 2  # INFO commands per snapshot
# The target for the writes scenario: Redis commands per request, worker included.
MAX_COMMANDS_PER_REQUEST = 8
IDLE_WINDOW = 3.0  # seconds the idle stack is watched to learn its polling rate


def _stats(client: redis.Redis) -> tuple[int, dict[str, int]]:
    """(total commands processed, calls per command); the INFO calls themselves are taken out
    by the caller."""
    total = int(client.info("stats")["total_commands_processed"])
    calls = {
        name.removeprefix("cmdstat_"): int(v["calls"])
        for name, v in client.info("commandstats").items()
    }
    return total, calls


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[tuple[RedisNode, FastAPI, ManagedProcess]]:
    async with worker_stack(tmp_path, show_log=False) as s:
        yield s.node, s.app, s.worker


async def _pair(client: httpx.AsyncClient, author: Account, n: int) -> None:
    body = {
        "title": f"压测草稿 {n}",
        "body": "这是一篇压测写入的内容。今天我们一起学习如何使用这个平台。",
        "tags": ["科技", "生活"],
        "visibility": "public",
    }
    r = await client.post("/api/v1/contents", json=body, headers=author.headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/contents/{r.json()['id']}/publish", headers=author.headers)
    assert r.status_code == 200, r.text


async def _drained(app: FastAPI, node: RedisNode, prefix: str) -> int:
    """Wait until every job the writes asked for has run; returns how many commands the waiting
    sent to the Redis being measured (taken off the bill)."""
    queue = queue_name(prefix)
    q = node.client(db=2)
    sent = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            async with app_state(app).db.write_sessionmaker() as s:
                unsent = await s.scalar(
                    sa.select(sa.func.count())
                    .select_from(OutboxJob)
                    .where(OutboxJob.sent_at.is_(None))
                )
            # A coalesced warm-up waits in SAQ's schedule until its window ends: its marker goes
            # when it starts, and then it is in the active list until done.
            busy = q.llen(f"{queue}:queued") + q.llen(f"{queue}:active")
            coalescing = q.keys(f"{prefix}q:coalesced:*")
            sent += 3
            if not unsent and not busy and not coalescing:
                return sent
            await asyncio.sleep(0.1)
        raise AssertionError(f"the worker did not drain the queue in 30 s ({unsent} unsent)")
    finally:
        q.close()


async def _writes(client: httpx.AsyncClient, authors: list[Account]) -> None:
    """PAIRS pairs over CONNECTIONS concurrent clients, like the bench's connections."""
    numbers = iter(range(1, PAIRS + 1))

    async def connection() -> None:
        for n in numbers:
            await _pair(client, authors[n % len(authors)], n)

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))


def _calls_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in sorted(after) if after[k] - before.get(k, 0)}


async def test_writes_cost_at_most_eight_redis_commands_per_request(
    stack: tuple[RedisNode, FastAPI, ManagedProcess],
) -> None:
    node, app, worker = stack
    prefix = app_state(app).redis.prefix
    info = node.client()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        authors = [await signup(client, "author") for _ in range(AUTHORS)]
        # One pair first: scripts loaded, tags created, the first warm-up run.
        await _pair(client, authors[0], 0)
        await _drained(app, node, prefix)

        # Each snapshot is two INFO commands, which Redis counts too (SNAPSHOT).
        start, idle_before = _stats(info)
        await asyncio.sleep(IDLE_WINDOW)
        end, idle_after = _stats(info)
        idle_rate = (end - start - SNAPSHOT) / IDLE_WINDOW

        began = time.monotonic()
        before, calls_before = _stats(info)
        await _writes(client, authors)
        polls = await _drained(app, node, prefix)
        after, calls_after = _stats(info)
        elapsed = time.monotonic() - began
    info.close()
    assert worker.alive()

    requests = 2 * PAIRS
    commands = after - before - SNAPSHOT - polls - idle_rate * elapsed
    per_request = commands / requests
    diff = _calls_delta(calls_before, calls_after)
    print(
        f"\nwrites: {requests} requests in {elapsed:.2f} s; idle polling {idle_rate:.1f}/s "
        f"({_calls_delta(idle_before, idle_after)}); "
        f"{per_request:.2f} Redis commands per request, the worker's share included\n"
        f"commandstats delta: {diff}"
    )
    assert per_request <= MAX_COMMANDS_PER_REQUEST, diff
