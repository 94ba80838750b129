"""The L1 (``cache/local``) of one process hears another process's writes over the cache Redis's
pub/sub (``cache/local_sync``): two CacheAside instances with their own clients, as two API
processes would have, on the real Redis. The L1 TTL is long here, so only a message can explain
an entry that went away."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from sharestack.cache import keys
from sharestack.cache.aside import CacheAside, Loader
from sharestack.cache.local import LocalCache
from tests.support.io_counts import counting

pytestmark = pytest.mark.integration

V = "test"
REDIS_URL = os.environ.get("TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/12")


async def _until(condition: Callable[[], bool], within: float) -> float:
    """Seconds until ``condition()`` held, polled every millisecond; fails after ``within``."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < within, "condition not reached in time"
        await asyncio.sleep(0.001)
    return time.monotonic() - began


@pytest.fixture
async def pair() -> AsyncIterator[tuple[CacheAside, CacheAside]]:
    prefix = f"ss_redis_test:{secrets.token_hex(4)}:"  # also names the channel
    clients = [Redis.from_url(REDIS_URL) for _ in range(2)]
    caches = [
        CacheAside(c, prefix=prefix, local=LocalCache(ttl=60, max_entries=100)) for c in clients
    ]
    for cache in caches:
        cache.start()
    await _until(lambda: all(c.local.live for c in caches), 5.0)
    yield caches[0], caches[1]
    for cache in caches:
        await cache.aclose()
    left = [k async for k in clients[0].scan_iter(match=f"{prefix}*", count=1000)]
    if left:
        await clients[0].delete(*left)
    for c in clients:
        await c.aclose()


def _loader(db: dict[str, int]) -> Loader:
    async def load(_position: str | None) -> bytes | None:
        return str(db["version"]).encode()

    return load


async def test_a_write_in_one_process_drops_the_other_processes_l1_entry(
    pair: tuple[CacheAside, CacheAside],
) -> None:
    a, b = pair
    db = {"version": 1}
    key = keys.content_by_id(a.prefix, 1, V)
    assert await b.get_or_load(key, _loader(db), local=True) == b"1"
    with counting() as hot:
        assert await b.get_or_load(key, _loader(db), local=True) == b"1"
    assert hot.redis == []  # an L1 hit: no Redis command at all

    db["version"] = 2
    await a.invalidate(key)  # the write, in process a
    took = await _until(lambda: not b.local.get(key.value)[0], 1.0)
    print(f"\nprocess b dropped its L1 entry {took * 1000:.1f} ms after a's invalidation")
    assert took < 0.1
    assert await b.get_or_load(key, _loader(db), local=True) == b"2"


async def test_one_publish_per_write_carries_every_generation(
    pair: tuple[CacheAside, CacheAside],
) -> None:
    a, b = pair
    db = {"version": 1}
    feed = [keys.creator_feed(a.prefix, 7, f"page={n}", V) for n in (1, 2)]
    item = keys.content_by_id(a.prefix, 9, V)
    tag = keys.tag_feed(a.prefix, "jazz", "page=1", V)
    for key in (*feed, item, tag):
        await b.get_or_load(key, _loader(db), local=True)
    scopes = {keys.scope_creator_feed(7), keys.scope_content_id(9), keys.scope_tag_feed("jazz")}
    with counting() as write:
        await a.invalidate_scopes(scopes, "0-1-7")
    assert sorted(write.redis) == ["PUBLISH", "SET", "SET", "SET"], write.redis
    await _until(lambda: not any(b.local.get(k.value)[0] for k in (*feed, item, tag)), 1.0)


async def test_a_lost_subscription_empties_the_l1_and_comes_back(
    pair: tuple[CacheAside, CacheAside],
) -> None:
    a, b = pair
    assert b.local_sync is not None
    db = {"version": 1}
    key = keys.profile(a.prefix, 3, V)
    await b.get_or_load(key, _loader(db), local=True)
    assert b.local.get(key.value)[0]

    # Kill exactly b's subscriber (others may share this Redis): anything published now is lost.
    admin = Redis.from_url(REDIS_URL)
    try:
        clients = await admin.client_list(_type="pubsub")
        ours = [c["id"] for c in clients if c.get("name") == b.local_sync.client_name]
        assert len(ours) == 1, clients
        await admin.client_kill_filter(_id=ours[0])
    finally:
        await admin.aclose()
    await _until(lambda: not b.local.live, 5.0)  # suspended: emptied, not served
    assert not b.local.get(key.value)[0]
    await _until(lambda: b.local.live, 5.0)  # resubscribed, and emptied again
    assert b.local_sync.subscriptions == 2

    # Back in step: the next write reaches b's L1 again.
    assert await b.get_or_load(key, _loader(db), local=True) == b"1"
    db["version"] = 2
    await a.invalidate(key)
    await _until(lambda: not b.local.get(key.value)[0], 1.0)
    assert await b.get_or_load(key, _loader(db), local=True) == b"2"


async def test_the_writers_own_message_changes_nothing_twice(
    pair: tuple[CacheAside, CacheAside],
) -> None:
    a, b = pair
    key = keys.content_by_slug(a.prefix, "mine", V)
    assert await a.get_or_load(key, _loader({"version": 1}), local=True) == b"1"
    await a.invalidate(key)
    epoch = a.local.epoch  # the writer dropped its entry itself, before answering
    await b.invalidate(keys.content_by_slug(a.prefix, "other", V))
    await _until(lambda: a.local.epoch > epoch, 1.0)  # b's message arrives, a's own never did
    assert a.local.epoch == epoch + 1
