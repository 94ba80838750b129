"""Login sessions in Redis (the ``sessions`` role), keyed by the token's HMAC digest.

Expiry slides: every authenticated request pushes it ``SESSION_TTL_SECONDS`` into the future
(``GETEX ... EX`` reads and extends in one round trip). Logging out deletes the key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from sharestack.auth.security import new_token, token_digest
from sharestack.cache.redis import RedisRoles
from sharestack.config import Settings


@dataclass(frozen=True)
class SessionInfo:
    user_id: int
    digest: str
    created_at: float


class SessionStore:
    def __init__(self, redis: RedisRoles, settings: Settings) -> None:
        self._redis = redis.sessions
        self._roles = redis
        self._secret = settings.secret_key
        self._ttl = settings.session_ttl_seconds

    def _key(self, digest: str) -> str:
        return self._roles.key("sess", digest)

    async def create(self, user_id: int) -> str:
        token = new_token()
        value = orjson.dumps({"uid": user_id, "iat": time.time()})
        await self._redis.set(self._key(token_digest(self._secret, token)), value, ex=self._ttl)
        return token

    async def resolve(self, token: str) -> SessionInfo | None:
        digest = token_digest(self._secret, token)
        raw = await self._redis.getex(self._key(digest), ex=self._ttl)
        if raw is None:
            return None
        data = orjson.loads(raw)
        return SessionInfo(user_id=int(data["uid"]), digest=digest, created_at=float(data["iat"]))

    async def revoke(self, digest: str) -> None:
        await self._redis.delete(self._key(digest))
