"""Redis clients, one per role, each with its own key prefix.

Roles: ``sessions`` (DB 0), ``cache`` (DB 1), ``queue`` (DB 2), ``ratelimit`` (DB 3). Each role
has its own URL setting, so moving a role to its own instance needs configuration, not code. With
no Redis configured, every role is served by one in-process fakeredis server (embedded default):
the same client API, the same code paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as redis

from sharestack.config import Settings

ROLE_DB = {"sessions": 0, "cache": 1, "queue": 2, "ratelimit": 3}


def role_url(settings: Settings, role: str) -> str | None:
    explicit: str | None = getattr(settings, f"redis_{role}_url")
    if explicit:
        return explicit
    if settings.redis_url is None:
        return None
    base = settings.redis_url.rstrip("/")
    # REDIS_URL names the instance; the role picks its DB unless the URL already names one.
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

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisRoles:
        clients: dict[str, redis.Redis] = {}
        embedded = all(role_url(settings, role) is None for role in ROLE_DB)
        if embedded:
            import fakeredis

            server = fakeredis.FakeServer()
            for role, db in ROLE_DB.items():
                clients[role] = fakeredis.FakeAsyncRedis(server=server, db=db)
        else:
            for role in ROLE_DB:
                url = role_url(settings, role)
                if url is None:
                    raise ValueError(f"REDIS_{role.upper()}_URL or REDIS_URL must be set")
                clients[role] = redis.Redis.from_url(
                    url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30
                )
        return cls(**clients, prefix=settings.redis_key_prefix, embedded=embedded)

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
        for client in self.distinct_clients().values():
            await client.aclose()
