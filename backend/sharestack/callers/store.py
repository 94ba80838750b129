"""Login sessions in Redis (the ``sessions`` role), keyed by the token's HMAC digest.

A session token is 256 random bits sent to the client once; Redis keeps only
HMAC-SHA256(SECRET_KEY, token), so a leaked Redis dump cannot be replayed as sessions.

Expiry slides: every authenticated request pushes it ``SESSION_TTL_SECONDS`` into the future
(``GETEX ... EX`` reads and extends in one round trip). Logging out deletes the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson

from sharestack.cache.redis import RedisRoles
from sharestack.config import Settings


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LoginSession:
    """One signed-in session: whose it is and the digest it is stored under."""

    user_id: int
    digest: str
    created_at: float


class LoginStore:
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

    async def resolve(self, token: str) -> LoginSession | None:
        digest = token_digest(self._secret, token)
        raw = await self._redis.getex(self._key(digest), ex=self._ttl)
        if raw is None:
            return None
        data = orjson.loads(raw)
        return LoginSession(user_id=int(data["uid"]), digest=digest, created_at=float(data["iat"]))

    async def revoke(self, digest: str) -> None:
        await self._redis.delete(self._key(digest))
