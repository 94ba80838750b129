"""What every ShareStack process opens: the database (with its replica monitor), the Redis role
clients and the cache, wired together the same way in the API and in the worker. Jobs receive
these as their context."""

from __future__ import annotations

from dataclasses import dataclass

from sharestack.cache.aside import CacheAside
from sharestack.cache.invalidation import after_commit_hook
from sharestack.cache.redis import RedisRoles
from sharestack.config import Settings
from sharestack.db.engine import Database
from sharestack.pagination import Cursors


@dataclass(eq=False)
class Resources:
    settings: Settings
    db: Database
    redis: RedisRoles
    cache: CacheAside
    cursors: Cursors

    @classmethod
    async def open(cls, settings: Settings) -> Resources:
        db = Database(settings)
        if settings.metrics_enabled:  # database time per checkout, into /metrics
            from sharestack.metrics.db import instrument_database

            instrument_database(db)
        redis = RedisRoles.from_settings(settings)
        redis.start()
        cache = CacheAside(
            redis.cache if settings.cache_enabled else None,
            prefix=redis.key("cache"),
            stampede_guard=settings.cache_stampede_guard,
        )
        db.after_commit_hooks.append(after_commit_hook(cache))
        await db.start()
        return cls(
            settings=settings, db=db, redis=redis, cache=cache, cursors=Cursors(settings.secret_key)
        )

    async def close(self) -> None:
        await self.cache.aclose()
        await self.redis.close()
        await self.db.dispose()
