"""Atomic rate limits in Redis: GCRA (generic cell rate algorithm) in one Lua script.

Why GCRA in Lua rather than INCR + EXPIRE or a read-modify-write from Python: the check and the
update run as one script inside Redis, so N simultaneous requests are serialised by Redis itself
and exactly ``limit`` of a burst get through (a read-then-write limiter lets most of a concurrent
burst pass). GCRA stores one number per key (the theoretical arrival time), allows a burst of
``limit`` and then one request every ``period / limit``; it has no window boundary where twice the
limit slips through, and the time until the next allowed request is exact, which is what
Retry-After reports. Time comes from Redis (TIME), so API processes with skewed clocks agree.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from sharestack.errors import AppError

if TYPE_CHECKING:
    from sharestack.config import Settings


_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local allow_at = tat + interval - interval * limit
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
-- One cell is allowed; grant up to `want` (a lease), each one checked like the first.
local n = 1
while n < want and tat + (n + 1) * interval - interval * limit <= now do n = n + 1 end
local new_tat = tat + n * interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1)
return {n, 0}
"""


@dataclass(frozen=True)
class Limit:
    """``limit`` requests per ``period_seconds``, e.g. parsed from ``"10/minute"``."""

    limit: int
    period_seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*", text)
        if match is None:
            raise ValueError(f"rate limit {text!r} is not like '10/minute' or '100/5minutes'")
        count, multiplier, unit = match.groups()
        period = _PERIODS[unit] * (int(multiplier) if multiplier else 1)
        if int(count) < 1:
            raise ValueError(f"rate limit {text!r} must allow at least one request")
        return cls(int(count), period)

    def __str__(self) -> str:
        return f"{self.limit}/{self.period_seconds}s"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int


@dataclass
class _Lease:
    left: int  # cells granted by Redis and not used yet
    size: int  # cells asked for last time
    expires_at: float


class RateLimiter:
    """``hit`` asks Redis every time (exact across processes). ``hit_leased`` takes cells from
    Redis in leases and spends them in-process: a busy identity costs one script call per lease
    instead of per request. Leases never let more than the limit through (every leased cell was
    granted by the same script); cells left unused when a lease expires (``LEASE_SECONDS``) are
    lost, so a lease grows (doubling up to ``MAX_LEASE``) only while the previous one was used up
    in time, and a client sending one request at a time always leases one cell."""

    LEASE_SECONDS = 1.0
    MAX_LEASE = 64
    MAX_IDENTITIES = 10_000

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_GCRA)
        self._leases: OrderedDict[str, _Lease] = OrderedDict()

    async def _take(self, key: str, limit: Limit, want: int) -> tuple[int, int]:
        interval_ms = limit.period_seconds * 1000 / limit.limit
        granted, wait_ms = await self._script(
            keys=[key], args=[repr(interval_ms), limit.limit, want]
        )
        return int(granted), int(wait_ms)

    async def hit(self, scope: str, identity: str, limit: Limit) -> Decision:
        """Count one request of ``identity`` (an IP or a user id) against ``scope``'s limit."""
        granted, wait_ms = await self._take(f"{self.prefix}{scope}:{identity}", limit, 1)
        return _decision(granted, wait_ms)

    async def hit_leased(self, scope: str, identity: str, limit: Limit) -> Decision:
        """Like :meth:`hit`, from an in-process lease when this process holds one."""
        key = f"{self.prefix}{scope}:{identity}"
        now = time.monotonic()
        lease = self._leases.get(key)
        if lease is not None and lease.left > 0 and lease.expires_at > now:
            lease.left -= 1
            self._leases.move_to_end(key)
            return Decision(True, 0)
        size = 1
        if lease is not None:
            # The last lease was used up before it expired: this identity is busy, ask for more.
            used_up = lease.left == 0 and lease.expires_at > now
            size = min(self.MAX_LEASE, lease.size * 2) if used_up else 1
        granted, wait_ms = await self._take(key, limit, size)
        if granted:
            self._leases[key] = _Lease(granted - 1, size, now + self.LEASE_SECONDS)
            self._leases.move_to_end(key)
            while len(self._leases) > self.MAX_IDENTITIES:
                self._leases.popitem(last=False)
        return _decision(granted, wait_ms)


def _decision(granted: int, wait_ms: int) -> Decision:
    if granted:
        return Decision(True, 0)
    return Decision(False, max(1, math.ceil(wait_ms / 1000)))


@dataclass(frozen=True)
class RateLimits:
    """The configured limits, parsed once at start-up."""

    anonymous: Limit
    authenticated: Limit
    auth: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            anonymous=Limit.parse(settings.rate_limit_anonymous),
            authenticated=Limit.parse(settings.rate_limit_authenticated),
            auth=Limit.parse(settings.rate_limit_auth),
        )


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests; retry later."
