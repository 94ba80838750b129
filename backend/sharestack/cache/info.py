"""Redis memory, keyspace and replication figures from one INFO (and DBSIZE) per role client:
what ``/metrics`` exports and what the ``record_redis_stats`` job keeps."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError


async def redis_figures(client: Redis, within: float | None = None) -> dict[str, Any]:
    """``{"up": 0, "error": ...}`` when the server does not answer within ``within`` seconds."""
    try:
        info = await asyncio.wait_for(client.info(), within)
        keys = await asyncio.wait_for(client.dbsize(), within)
    except (RedisError, OSError, TimeoutError) as exc:
        return {"up": 0, "error": type(exc).__name__}
    offsets = [
        int(v["offset"]) for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
    ]
    master_offset = int(info.get("master_repl_offset", 0))
    return {
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
        # How far the slowest replica is behind, in bytes of the replication stream.
        "replica_lag_bytes": master_offset - min(offsets) if offsets else 0,
        "keys": int(keys),
    }
