"""The platform's own jobs, which serve no domain: Redis figures for capacity planning and the
worker's sweep of the outbox."""

from __future__ import annotations

import logging
import time

import orjson

from sharestack.cache.info import redis_figures
from sharestack.jobs.outbox import OutboxRelay
from sharestack.jobs.registry import job
from sharestack.jobs.runtime import queue_for
from sharestack.resources import Resources

logger = logging.getLogger(__name__)

# How many Redis stats samples the queue role keeps (one every 15 s: six hours).
STATS_SAMPLES = 1440


def stats_key(ctx: Resources) -> str:
    return ctx.redis.key("q", "stats", "redis")


@job(retries=1, timeout=20)
async def record_redis_stats(ctx: Resources) -> None:
    """Keep a rolling series of Redis figures for capacity planning, and log them."""
    figures = {
        role: await redis_figures(client) for role, client in ctx.redis.distinct_clients().items()
    }
    sample = orjson.dumps({"at": time.time(), "roles": figures})
    logger.info("redis stats", extra={"event": "redis_stats", "roles": figures})
    async with ctx.redis.queue.pipeline(transaction=True) as pipe:
        pipe.lpush(stats_key(ctx), sample)
        pipe.ltrim(stats_key(ctx), 0, STATS_SAMPLES - 1)
        await pipe.execute()


@job(retries=1, timeout=30)
async def relay_outbox(ctx: Resources) -> None:
    """The worker's sweep of the outbox: rows an API process committed but did not relay."""
    relay = OutboxRelay(ctx.db, queue_for(ctx))
    while await relay.relay_once() > 0:
        pass
    await relay.purge_sent()
