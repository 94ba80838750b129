"""What every ShareStack process opens: the database (with its replica monitor), the Redis role
clients and the cache, wired together the same way in the API and in the worker. Jobs receive
these as their context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sharestack.cache.aside import CacheAside
from sharestack.cache.invalidation import after_commit_hook
from sharestack.cache.local import LocalCache
from sharestack.cache.redis import RedisRoles
from sharestack.config import Settings
from sharestack.db.engine import Database
from sharestack.pagination import Cursors

if TYPE_CHECKING:  # an annotation only: infrastructure never imports a domain at run time
    from sharestack.payments.providers import PaymentProvider

# Builds the payment providers (``payments.runtime.build_providers``), passed in by the
# composition roots (``main``, ``worker``).
ProvidersFactory = Callable[["Resources"], "dict[str, PaymentProvider]"]


@dataclass(eq=False)
class Resources:
    settings: Settings
    db: Database
    redis: RedisRoles
    cache: CacheAside
    cursors: Cursors
    # Payment providers by name (built once per process; empty unless a factory was given).
    payments: dict[str, PaymentProvider] = field(default_factory=dict)

    @classmethod
    async def open(
        cls, settings: Settings, *, payments: ProvidersFactory | None = None
    ) -> Resources:
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
            local=LocalCache(ttl=settings.cache_l1_ttl_seconds, max_entries=settings.cache_l1_size),
        )
        db.after_commit_hooks.append(after_commit_hook(cache))
        await db.start()
        resources = cls(
            settings=settings,
            db=db,
            redis=redis,
            cache=cache,
            cursors=Cursors(settings.secret_key),
        )
        if payments is not None:
            resources.payments = payments(resources)
        return resources

    async def close(self) -> None:
        for provider in self.payments.values():
            await provider.aclose()
        await self.cache.aclose()
        await self.redis.close()
        await self.db.dispose()
