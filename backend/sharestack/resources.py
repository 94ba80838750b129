"""What every ShareStack process opens: the database (with its replica monitor), the Redis role
clients and the cache, wired together the same way in the API and in the worker. Jobs receive
these as their context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sharestack.cache.aside import CacheAside
from sharestack.cache.invalidation import after_commit_hook
from sharestack.cache.local import LocalCache
from sharestack.cache.redis import RedisRoles
from sharestack.config import Settings
from sharestack.db.engine import Database
from sharestack.email import Mailer, mailer_from_settings
from sharestack.email.console import ConsoleMailer
from sharestack.pagination import Cursors
from sharestack.sealing import Sealer
from sharestack.sms import SmsSender
from sharestack.sms.factory import sms_from_settings
from sharestack.storage.factory import open_storage
from sharestack.storage.local import LocalStorage
from sharestack.storage.port import Storage
from sharestack.wechat import WechatLogin
from sharestack.wechat.client import wechat_from_settings

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
    # Verification-code texts (sharestack.sms) and WeChat log-in (sharestack.wechat).
    sms: SmsSender | None = None
    wechat: WechatLogin | None = None
    # Where mail goes (``sharestack.email``): jobs send, requests only enqueue.
    mailer: Mailer = field(default_factory=ConsoleMailer)
    # Where media files live (MEDIA_STORAGE); the local media directory unless opened otherwise.
    storage: Storage = field(default_factory=lambda: LocalStorage(Path("var/media")))

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
        # Other processes' writes reach this process's L1 over pub/sub; the embedded in-process
        # Redis serves one process only, which drops its own entries as it writes.
        if not redis.embedded:
            cache.start()
        db.after_commit_hooks.append(after_commit_hook(cache))
        await db.start()
        resources = cls(
            settings=settings,
            db=db,
            redis=redis,
            cache=cache,
            cursors=Cursors(settings.secret_key),
            sms=sms_from_settings(settings, redis.sessions, redis.key("sms", "console", "")),
            wechat=wechat_from_settings(settings),
            mailer=mailer_from_settings(settings),
            storage=await open_storage(settings),
        )
        if payments is not None:
            resources.payments = payments(resources)
        return resources

    @cached_property
    def sealer(self) -> Sealer:
        """Seals and opens personal data stored at rest (payees' real names)."""
        return Sealer.from_config(self.settings.secret_key, self.settings.data_encryption_keys)

    async def close(self) -> None:
        for provider in self.payments.values():
            await provider.aclose()
        for client in (self.sms, self.wechat):
            if client is not None:
                await client.aclose()
        await self.mailer.aclose()
        await self.storage.aclose()
        await self.cache.aclose()
        await self.redis.close()
        await self.db.dispose()
