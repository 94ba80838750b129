"""The jobs. Each is idempotent (see jobs/__init__: a job may run twice in rare failures)."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from redis.exceptions import RedisError

from sharestack.jobs.context import JobContext
from sharestack.jobs.registry import job

logger = logging.getLogger(__name__)

# How many Redis stats samples the queue role keeps (one every 15 s: six hours).
STATS_SAMPLES = 1440
FIRST_PAGE = 20


@job(retries=5, retry_delay=0.5, timeout=30)
async def warm_content_cache(ctx: JobContext, *, content_id: int) -> None:
    """Fill the cache entries a reader will ask for right after a publication: the item by id and
    by slug, the first page of its author's feed and of each of its tags' feeds."""
    from pydantic_core import from_json

    from sharestack.content import cached

    payload = await cached.item_by_id(ctx.cache, ctx.db, content_id)
    if payload is None:
        return  # unpublished or deleted again before the job ran: nothing to warm
    _head, full, _withheld = payload.split(b"\x00", 2)
    item: dict[str, Any] = from_json(full)
    await cached.item_by_slug(ctx.cache, ctx.db, item["slug"])
    await cached.creator_feed_page(ctx.cache, ctx.db, int(item["author_id"]), None, FIRST_PAGE)
    from sharestack.content.service import tag_slug

    for name in item.get("tags", []):
        await cached.tag_feed_page(ctx.cache, ctx.db, tag_slug(name), None, FIRST_PAGE)


async def redis_figures(ctx: JobContext) -> dict[str, dict[str, Any]]:
    """Memory and keyspace figures of each role's Redis (what /metrics exports, too)."""
    figures: dict[str, dict[str, Any]] = {}
    for role, client in ctx.redis.distinct_clients().items():
        try:
            info = await client.info()
            keys = await client.dbsize()
        except (RedisError, OSError) as exc:
            figures[role] = {"up": 0, "error": type(exc).__name__}
            continue
        figures[role] = {
            "up": 1,
            "used_memory": int(info.get("used_memory", 0)),
            "maxmemory": int(info.get("maxmemory", 0)),
            "maxmemory_policy": str(info.get("maxmemory_policy", "")),
            "evicted_keys": int(info.get("evicted_keys", 0)),
            "expired_keys": int(info.get("expired_keys", 0)),
            "keyspace_hits": int(info.get("keyspace_hits", 0)),
            "keyspace_misses": int(info.get("keyspace_misses", 0)),
            "connected_clients": int(info.get("connected_clients", 0)),
            "role": str(info.get("role", "")),
            "connected_replicas": int(info.get("connected_slaves", 0)),
            "keys": int(keys),
        }
    return figures


def stats_key(ctx: JobContext) -> str:
    return ctx.redis.key("q", "stats", "redis")


@job(retries=1, timeout=20)
async def record_redis_stats(ctx: JobContext) -> None:
    """Keep a rolling series of Redis figures for capacity planning, and log them."""
    figures = await redis_figures(ctx)
    sample = orjson.dumps({"at": time.time(), "roles": figures})
    logger.info("redis stats", extra={"event": "redis_stats", "roles": figures})
    async with ctx.redis.queue.pipeline(transaction=True) as pipe:
        pipe.lpush(stats_key(ctx), sample)
        pipe.ltrim(stats_key(ctx), 0, STATS_SAMPLES - 1)
        await pipe.execute()


@job(retries=1, timeout=30)
async def relay_outbox(ctx: JobContext) -> None:
    """The worker's sweep of the outbox: rows an API process committed but did not relay."""
    from sharestack.jobs.outbox import OutboxRelay
    from sharestack.jobs.runtime import queue_for

    relay = OutboxRelay(ctx.db, queue_for(ctx))
    while await relay.relay_once() > 0:
        pass
    await relay.purge_sent()
