"""``GET /metrics`` in the Prometheus text format.

Redis, queue and pool figures are read when Prometheus scrapes (INFO per distinct role client,
with a short timeout), so they are never older than the scrape. Keep /metrics off the public
edge: nginx serves it to the monitoring network only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.pool import QueuePool
from starlette.responses import Response

from sharestack.cache.info import redis_figures
from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.dependencies import StateDep
from sharestack.jobs.runtime import ApiJobs
from sharestack.metrics import registry as m
from sharestack.payments import service as payments_service
from sharestack.payouts import reconciliation

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

SCRAPE_TIMEOUT = 1.0


async def _redis_role(role: str, client: Any) -> None:
    figures = await redis_figures(client, SCRAPE_TIMEOUT)
    m.REDIS_UP.labels(role).set(figures["up"])
    if not figures["up"]:
        return
    m.REDIS_USED_MEMORY.labels(role).set(figures["used_memory"])
    m.REDIS_MAXMEMORY.labels(role).set(figures["maxmemory"])
    m.REDIS_EVICTED.labels(role).set(figures["evicted_keys"])
    m.REDIS_KEYSPACE_HITS.labels(role).set(figures["keyspace_hits"])
    m.REDIS_KEYSPACE_MISSES.labels(role).set(figures["keyspace_misses"])
    m.REDIS_CLIENTS.labels(role).set(figures["connected_clients"])
    m.REDIS_KEYS.labels(role).set(figures["keys"])
    m.REDIS_IS_MASTER.labels(role).set(1 if figures["role"] == "master" else 0)
    m.REDIS_REPLICAS.labels(role).set(figures["connected_replicas"])
    m.REDIS_REPLICA_LAG.labels(role).set(figures["replica_lag_bytes"])


def _db_pools(db: Database) -> None:
    engines = {"primary": db.write_engine} | {
        f"replica{i}": e for i, e in enumerate(db.read_engines)
    }
    for name, engine in engines.items():
        pool = engine.pool
        if not isinstance(pool, QueuePool):
            continue  # SQLite's pool has no counters
        m.DB_POOL_CHECKED_OUT.labels(name).set(pool.checkedout())
        m.DB_POOL_OVERFLOW.labels(name).set(max(0, pool.overflow()))
        m.DB_POOL_CAPACITY.labels(name).set(pool.size() + getattr(pool, "_max_overflow", 0))


async def _queue(jobs: ApiJobs) -> None:
    try:
        queued, active = await asyncio.wait_for(jobs.queue.counts(), SCRAPE_TIMEOUT)
        m.QUEUE_QUEUED.labels("default").set(queued)
        m.QUEUE_ACTIVE.labels("default").set(active)
        m.OUTBOX_PENDING.set(await asyncio.wait_for(jobs.relay.pending(), SCRAPE_TIMEOUT))
    except Exception:  # a scrape reports what it can; the Redis gauges show what is down
        logger.debug("queue figures unavailable", exc_info=True)


async def _payments(db: Database) -> None:
    """How long the oldest unsettled payment has waited (the PaymentsUnknownTooLong alert)."""
    try:
        async with db.write_sessionmaker() as session:
            oldest = await asyncio.wait_for(
                payments_service.oldest_unsettled(session), SCRAPE_TIMEOUT
            )
    except Exception:
        logger.debug("payment figures unavailable", exc_info=True)
        return
    now = utcnow()
    for status in ("unknown", "pending"):
        since = oldest.get(status)
        m.PAYMENTS_UNSETTLED_AGE.labels(status).set((now - since).total_seconds() if since else 0)


# Always exported, so that an alert on "> 0" has a series to compare even before a first run.
RECONCILED_PROVIDERS = ("alipay", "wechatpay")


async def _reconciliation(db: Database) -> None:
    try:
        async with db.routing.reading() as session:
            counts = await asyncio.wait_for(reconciliation.open_mismatches(session), SCRAPE_TIMEOUT)
    except Exception:  # a scrape reports what it can
        logger.debug("reconciliation figures unavailable", exc_info=True)
        return
    for provider in sorted(set(RECONCILED_PROVIDERS) | counts.keys()):
        m.RECONCILIATION_MISMATCHES.labels(provider).set(counts.get(provider, 0))


@router.get("/metrics", include_in_schema=False)
async def metrics(state: StateDep) -> Response:
    roles = state.redis
    # The embedded in-process store has no INFO; its figures would mean nothing anyway.
    clients = {} if roles.embedded else roles.distinct_clients()
    await asyncio.gather(
        *(_redis_role(role, client) for role, client in clients.items()),
        _queue(state.jobs),
        _payments(state.db),
        _reconciliation(state.db),
    )
    _db_pools(state.db)
    return Response(generate_latest(m.REGISTRY), media_type=CONTENT_TYPE_LATEST)
