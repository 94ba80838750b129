"""The per-generation rebuild lock of ``cache/aside`` against the real Redis: what a cold read
costs, one load for a burst across processes, and no waiting on a lock that can no longer help
(a failed fill, an invalidated generation). Each CacheAside has its own client, as separate API
processes would."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from sharestack.cache import keys
from sharestack.cache.aside import CacheAside
from tests.support.io_counts import counting

pytestmark = pytest.mark.integration

V = "test"
REDIS_URL = os.environ.get("TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    value = f"ss_redis_test:{secrets.token_hex(4)}:"
    yield value
    client = Redis.from_url(REDIS_URL)
    left = [k async for k in client.scan_iter(match=f"{value}*", count=1000)]
    if left:
        await client.delete(*left)
    await client.aclose()


@pytest.fixture
async def processes() -> AsyncIterator[tuple[CacheAside, CacheAside]]:
    """Two processes' worth of cache: one client (and connection pool) each."""
    clients = [Redis.from_url(REDIS_URL, max_connections=40) for _ in range(2)]
    # Open the connections first, as a busy process has them open: otherwise connection set-up,
    # not the lock, decides how many readers overlap.
    await asyncio.gather(*(c.ping() for c in clients for _ in range(20)))
    yield CacheAside(clients[0]), CacheAside(clients[1])
    for c in clients:
        await c.aclose()


async def test_a_cold_read_costs_four_commands_and_no_script(
    processes: tuple[CacheAside, CacheAside], prefix: str
) -> None:
    cache, _ = processes

    async def load(_position: str | None) -> bytes | None:
        return b"{}"

    # Never read: MGET, then the generation and its lock in one round trip, then the value. No
    # script: Redis counts EVAL once plus once per call inside it.
    with counting() as never_read:
        await cache.get_or_load(keys.content_by_id(prefix, 1, V), load)
    assert never_read.redis == ["MGET", "SET", "SET", "SET"], never_read.redis

    # Invalidated (the generation exists): MGET, the lock, the value.
    await cache.invalidate(keys.content_by_id(prefix, 1, V))
    with counting() as invalidated:
        await cache.get_or_load(keys.content_by_id(prefix, 1, V), load)
    assert invalidated.redis == ["MGET", "SET", "SET"], invalidated.redis

    with counting() as hit:
        await cache.get_or_load(keys.content_by_id(prefix, 1, V), load)
    assert hit.redis == ["MGET"], hit.redis


async def test_twenty_cold_readers_in_two_processes_make_one_load(
    processes: tuple[CacheAside, CacheAside], prefix: str
) -> None:
    loads = 0
    started = asyncio.Event()

    async def load(_position: str | None) -> bytes | None:
        nonlocal loads
        loads += 1
        started.set()
        await asyncio.sleep(0.2)  # a slow query: every reader arrives while it runs
        return b'{"cold":true}'

    key = keys.content_by_slug(prefix, "never-read", V)
    results = await asyncio.gather(*(processes[i % 2].get_or_load(key, load) for i in range(20)))
    assert results == [b'{"cold":true}'] * 20
    assert loads == 1


async def test_a_failed_fill_lets_the_next_reader_rebuild_at_once(
    processes: tuple[CacheAside, CacheAside], prefix: str
) -> None:
    one, two = processes
    key = keys.content_by_id(prefix, 2, V)
    holding = asyncio.Event()
    fail = asyncio.Event()

    async def failing(_position: str | None) -> bytes | None:
        holding.set()
        await fail.wait()
        raise RuntimeError("the database went away")

    async def load(_position: str | None) -> bytes | None:
        return b"rebuilt"

    holder = asyncio.create_task(one.get_or_load(key, failing))
    await holding.wait()  # process one holds the rebuild lock
    waiter = asyncio.create_task(two.get_or_load(key, load))
    await asyncio.sleep(0.1)  # process two is polling behind the lock
    began = time.monotonic()
    fail.set()
    with pytest.raises(RuntimeError):
        await holder
    assert await asyncio.wait_for(waiter, keys.LOCK_TTL_MS / 1000) == b"rebuilt"
    # Not the lock's expiry (5 s): a poll or two after the failure.
    assert time.monotonic() - began < 0.5


async def test_an_invalidation_during_a_rebuild_does_not_wait_for_the_old_lock(
    processes: tuple[CacheAside, CacheAside], prefix: str
) -> None:
    one, two = processes
    key = keys.creator_feed(prefix, 3, "page=1", V)
    db = {"version": 1}
    holding = asyncio.Event()
    release = asyncio.Event()
    new_loads = 0

    async def slow_old(_position: str | None) -> bytes | None:
        value = str(db["version"]).encode()
        holding.set()
        await release.wait()
        return value

    async def load(_position: str | None) -> bytes | None:
        nonlocal new_loads
        new_loads += 1
        return str(db["version"]).encode()

    old = asyncio.create_task(one.get_or_load(key, slow_old))
    await holding.wait()  # process one rebuilds generation 1 and holds its lock
    behind = asyncio.create_task(two.get_or_load(key, load))  # polls behind that lock
    await asyncio.sleep(0.1)
    db["version"] = 2
    await two.invalidate(key)  # the write commits and invalidates
    try:
        # Readers of the new generation, in both processes, while the old rebuild still runs.
        fresh = await asyncio.wait_for(
            asyncio.gather(behind, one.get_or_load(key, load), two.get_or_load(key, load)), 1.0
        )
        assert fresh == [b"2", b"2", b"2"]
        assert new_loads == 1
        assert not old.done()
    finally:
        release.set()
    assert await old == b"1"  # it read before the write: stored under the old token
    assert await two.get_or_load(key, load) == b"2"
