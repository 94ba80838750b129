"""Login sessions in Redis (the ``sessions`` role), keyed by the token's HMAC digest.

A session token is 256 random bits sent to the client once; Redis keeps only
HMAC-SHA256(SECRET_KEY, token), so a leaked Redis dump cannot be replayed as sessions.

Two lifetimes: the expiry slides (use pushes it ``SESSION_TTL_SECONDS`` into the future) but never
past ``SESSION_ABSOLUTE_TTL_SECONDS`` after the log-in, so a stolen token that is kept busy still
dies. Resolving is one round trip: a Lua script reads the session and checks the absolute
deadline; only when the stored last-seen time is older than ``LAST_SEEN_RESOLUTION`` does it
rewrite the value and push the expiry, in one SET. A busy client so costs two commands per
request (the script and its GET; Redis counts both) instead of three with an EXPIRE each time,
and its sliding expiry is at most ``LAST_SEEN_RESOLUTION`` earlier than exact: a minute off a
two-week window.

Each user has an index (a sorted set of their digests scored by absolute deadline) for listing
sessions and logging out everywhere. A session's public id (``sid``) is a separate random value:
it names the session in ``/me/sessions`` and cannot be turned into the token or the digest.
Sessions without a ``sid`` (from a release before the index) are refused once: they are not in
the index that log-out-everywhere relies on.
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

# Last-seen times are kept to this many seconds: at most one extra write per session and minute.
LAST_SEEN_RESOLUTION = 60
MAX_USER_AGENT = 256

# KEYS[1] session key; ARGV: now, sliding ttl, last-seen resolution.
_RESOLVE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local now = tonumber(ARGV[1])
local s = cjson.decode(raw)
local exp = tonumber(s['exp'])
if s['sid'] == nil or exp == nil or exp <= now then
  redis.call('DEL', KEYS[1])
  return false
end
local ttl = math.min(tonumber(ARGV[2]), exp - now)
if now - tonumber(s['seen']) >= tonumber(ARGV[3]) then
  s['seen'] = now
  raw = cjson.encode(s)
  redis.call('SET', KEYS[1], raw, 'EX', ttl)
end
return raw
"""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LoginSession:
    """One signed-in session: whose it is, the digest it is stored under and its public id."""

    user_id: int
    digest: str
    created_at: float
    session_id: str = ""
    expires_at: float = 0.0
    last_seen_at: float = 0.0
    ip: str | None = None
    user_agent: str | None = None


def _session(digest: str, raw: bytes | str) -> LoginSession:
    data = orjson.loads(raw)
    return LoginSession(
        user_id=int(data["uid"]),
        digest=digest,
        created_at=float(data["iat"]),
        session_id=str(data["sid"]),
        expires_at=float(data["exp"]),
        last_seen_at=float(data["seen"]),
        ip=data.get("ip") or None,
        user_agent=data.get("ua") or None,
    )


class LoginStore:
    def __init__(self, redis: RedisRoles, settings: Settings) -> None:
        self._redis = redis.sessions
        self._roles = redis
        self._secret = settings.secret_key
        self._ttl = settings.session_ttl_seconds
        self._absolute = settings.session_absolute_ttl_seconds
        self._resolve = self._redis.register_script(_RESOLVE)

    def _key(self, digest: str) -> str:
        return self._roles.key("sess", digest)

    def _index(self, user_id: int) -> str:
        return self._roles.key("sess", "user", user_id)

    async def create(
        self, user_id: int, *, ip: str | None = None, user_agent: str | None = None
    ) -> str:
        token = new_token()
        digest = token_digest(self._secret, token)
        now = int(time.time())
        expires = now + self._absolute
        value = orjson.dumps(
            {
                "uid": user_id,
                "sid": secrets.token_urlsafe(12),
                "iat": now,
                "exp": expires,
                "seen": now,
                "ip": ip or "",
                "ua": (user_agent or "")[:MAX_USER_AGENT],
            }
        )
        index = self._index(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(digest), value, ex=min(self._ttl, self._absolute))
            pipe.zadd(index, {digest: expires})
            pipe.zremrangebyscore(index, "-inf", now)
            pipe.expire(index, self._absolute)
            await pipe.execute()
        return token

    async def resolve(self, token: str) -> LoginSession | None:
        digest = token_digest(self._secret, token)
        raw = await self._resolve(
            keys=[self._key(digest)], args=[int(time.time()), self._ttl, LAST_SEEN_RESOLUTION]
        )
        if raw is None:
            return None
        return _session(digest, raw)

    async def sessions(self, user_id: int) -> list[LoginSession]:
        """The user's live sessions, newest first (two round trips, whatever their number)."""
        index = self._index(user_id)
        digests = [
            d.decode() if isinstance(d, bytes) else str(d)
            for d in await self._redis.zrangebyscore(index, int(time.time()), "+inf")
        ]
        if not digests:
            return []
        values = await self._redis.mget([self._key(d) for d in digests])
        found = [_session(d, raw) for d, raw in zip(digests, values, strict=True) if raw]
        return sorted(found, key=lambda s: (s.created_at, s.session_id), reverse=True)

    async def revoke(self, digest: str, *, user_id: int | None = None) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(digest))
            if user_id is not None:
                pipe.zrem(self._index(user_id), digest)
            await pipe.execute()

    async def revoke_by_id(self, user_id: int, session_id: str) -> bool:
        """End one of the user's sessions by its public id; False if they have none such."""
        for session in await self.sessions(user_id):
            if hmac.compare_digest(session.session_id, session_id):
                await self.revoke(session.digest, user_id=user_id)
                return True
        return False

    async def revoke_all(self, user_id: int, *, keep: str | None = None) -> int:
        """End every session of the user but ``keep`` (a digest); returns how many ended.

        Reads the whole index, not only live scores: a member whose deadline passed may still
        have a key for the last seconds of its sliding expiry."""
        index = self._index(user_id)
        digests = [
            d.decode() if isinstance(d, bytes) else str(d)
            for d in await self._redis.zrange(index, 0, -1)
        ]
        doomed = [d for d in digests if d != keep]
        if not doomed:
            return 0
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*[self._key(d) for d in doomed])
            pipe.zrem(index, *doomed)
            results = await pipe.execute()
        return int(results[0])
