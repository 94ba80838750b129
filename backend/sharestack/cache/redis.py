"""Redis clients, one per role, each with its own key prefix.

Roles: ``sessions`` (DB 0), ``cache`` (DB 1), ``queue`` (DB 2), ``ratelimit`` (DB 3) when
``REDIS_URL`` names no DB. A ``REDIS_URL`` that names one (``redis://host/12``) means *that DB for
every role*: a provider or a shared server that grants one DB number must not find us writing to
the next three, and Redis Cluster has DB 0 only. Roles never depend on DBs for separation: every
key starts with ``REDIS_KEY_PREFIX`` and a segment of its own role (``sess:``, ``cache:``, ``q:``,
``rl:``). Each role also has its own URL setting, so moving a role to its own instance needs
configuration, not code. With
no Redis configured, every role is served by one in-process fakeredis server (embedded default):
the same client API, the same code paths.

Clients retry with backoff through a failover and, with ``REDIS_SENTINELS``, find the master
through Sentinel and drop their pools on ``+switch-master`` (see ``sharestack.cache.clients``).
The cache role retries once only: a cache read that cannot reach Redis falls through to the
database at once rather than waiting out a failover.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis.asyncio as redis

from sharestack.cache.clients import (
    SentinelConfig,
    SwitchMasterWatcher,
    close_client,
    make_client,
    retries_for_budget,
)
from sharestack.config import Settings

ROLE_DB = {"sessions": 0, "cache": 1, "queue": 2, "ratelimit": 3}


def role_url(settings: Settings, role: str) -> str | None:
    explicit: str | None = getattr(settings, f"redis_{role}_url")
    if explicit:
        return explicit
    if settings.redis_url is None:
        return None
    base = settings.redis_url.rstrip("/")
    # REDIS_URL names the instance; the role picks its DB unless the URL already names one, in
    # which case every role uses that DB (see the module docstring).
    scheme, _, rest = base.partition("://")
    if "/" in rest and rest.rsplit("/", 1)[1].isdigit():
        return base
    return f"{scheme}://{rest}/{ROLE_DB[role]}"


@dataclass
class RedisRoles:
    sessions: redis.Redis
    cache: redis.Redis
    queue: redis.Redis
    ratelimit: redis.Redis
    prefix: str
    embedded: bool
    watcher: SwitchMasterWatcher | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisRoles:
        clients: dict[str, redis.Redis] = {}
        embedded = all(role_url(settings, role) is None for role in ROLE_DB)
        if embedded:
            import fakeredis

            server = fakeredis.FakeServer()
            for role, db in ROLE_DB.items():
                clients[role] = fakeredis.FakeAsyncRedis(server=server, db=db)
        watched: list[redis.Redis] = []
        sentinel = SentinelConfig.parse(
            settings.redis_sentinels,
            settings.redis_sentinel_master,
            settings.redis_sentinel_password,
        )
        if not embedded:
            for role in ROLE_DB:
                url = role_url(settings, role)
                if url is None:
                    raise ValueError(f"REDIS_{role.upper()}_URL or REDIS_URL must be set")
                via_sentinel = sentinel is not None and not getattr(settings, f"redis_{role}_url")
                clients[role] = make_client(
                    url,
                    sentinel=sentinel if via_sentinel else None,
                    retries=1
                    if role == "cache"
                    else retries_for_budget(settings.redis_retry_budget_seconds),
                    socket_timeout=0.5 if role == "cache" else 1.0,
                    client_name=f"sharestack-{role}",
                    max_connections=settings.redis_max_connections,
                )
                if via_sentinel:
                    watched.append(clients[role])
        watcher = SwitchMasterWatcher(sentinel, watched) if sentinel and watched else None
        return cls(**clients, prefix=settings.redis_key_prefix, embedded=embedded, watcher=watcher)

    def start(self) -> None:
        """Start background work that needs a running event loop (the +switch-master watcher)."""
        if self.watcher is not None:
            self.watcher.start()

    def key(self, role: str, *parts: str | int) -> str:
        """``ss:sess:abc`` — one prefix per deployment, one segment per role."""
        return f"{self.prefix}{role}:" + ":".join(str(p) for p in parts)

    def distinct_clients(self) -> dict[str, redis.Redis]:
        return {
            "sessions": self.sessions,
            "cache": self.cache,
            "queue": self.queue,
            "ratelimit": self.ratelimit,
        }

    async def close(self) -> None:
        if self.watcher is not None:
            await self.watcher.stop()
        for client in self.distinct_clients().values():
            await close_client(client)
