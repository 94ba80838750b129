"""``GET /metrics`` in the Prometheus text format.

Redis, queue and pool figures are read when Prometheus scrapes (INFO per distinct role client,
with a short timeout), so they are never older than the scrape. Keep /metrics off the public
edge: nginx serves it to the monitoring network only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from starlette.responses import Response

from sharestack.metrics import registry as m

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

SCRAPE_TIMEOUT = 1.0


async def _redis_role(role: str, client: Any) -> None:
    try:
        info = await asyncio.wait_for(client.info(), SCRAPE_TIMEOUT)
        keys = await asyncio.wait_for(client.dbsize(), SCRAPE_TIMEOUT)
    except (RedisError, OSError, TimeoutError):
        m.REDIS_UP.labels(role).set(0)
        return
    m.REDIS_UP.labels(role).set(1)
    m.REDIS_USED_MEMORY.labels(role).set(float(info.get("used_memory", 0)))
    m.REDIS_MAXMEMORY.labels(role).set(float(info.get("maxmemory", 0)))
    m.REDIS_EVICTED.labels(role).set(float(info.get("evicted_keys", 0)))
    m.REDIS_KEYSPACE_HITS.labels(role).set(float(info.get("keyspace_hits", 0)))
    m.REDIS_KEYSPACE_MISSES.labels(role).set(float(info.get("keyspace_misses", 0)))
    m.REDIS_CLIENTS.labels(role).set(float(info.get("connected_clients", 0)))
    m.REDIS_KEYS.labels(role).set(float(keys))
    is_master = info.get("role") == "master"
    m.REDIS_IS_MASTER.labels(role).set(1 if is_master else 0)
    replicas = int(info.get("connected_slaves", 0))
    m.REDIS_REPLICAS.labels(role).set(replicas)
    offsets = [
        int(v["offset"]) for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
    ]
    master_offset = int(info.get("master_repl_offset", 0))
    m.REDIS_REPLICA_LAG.labels(role).set(master_offset - min(offsets) if offsets else 0)


def _db_pools(app: FastAPI) -> None:
    db = app.state.db
    engines = {"primary": db.write_engine} | {
        f"replica{i}": e for i, e in enumerate(db.read_engines)
    }
    for name, engine in engines.items():
        pool = engine.pool
        checked_out = getattr(pool, "checkedout", None)
        if checked_out is None:
            continue  # SQLite's pool has no counters
        m.DB_POOL_CHECKED_OUT.labels(name).set(checked_out())
        m.DB_POOL_OVERFLOW.labels(name).set(max(0, pool.overflow()))
        m.DB_POOL_CAPACITY.labels(name).set(pool.size() + getattr(pool, "_max_overflow", 0))


async def _queue(app: FastAPI) -> None:
    jobs = getattr(app.state, "jobs", None)
    if jobs is None:
        return
    try:
        queued, active = await asyncio.wait_for(jobs.queue.counts(), SCRAPE_TIMEOUT)
        m.QUEUE_QUEUED.labels("default").set(queued)
        m.QUEUE_ACTIVE.labels("default").set(active)
        m.OUTBOX_PENDING.set(await asyncio.wait_for(jobs.relay.pending(), SCRAPE_TIMEOUT))
    except Exception:  # a scrape reports what it can; the Redis gauges show what is down
        logger.debug("queue figures unavailable", exc_info=True)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    app = request.app
    roles = app.state.redis
    # The embedded in-process store has no INFO; its figures would mean nothing anyway.
    clients = {} if roles.embedded else roles.distinct_clients()
    await asyncio.gather(
        *(_redis_role(role, client) for role, client in clients.items()), _queue(app)
    )
    _db_pools(app)
    return Response(generate_latest(m.REGISTRY), media_type=CONTENT_TYPE_LATEST)
