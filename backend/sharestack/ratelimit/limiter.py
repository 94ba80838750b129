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
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * limit
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1)
return {1, 0}
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


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_GCRA)

    async def hit(self, scope: str, identity: str, limit: Limit) -> Decision:
        """Count one request of ``identity`` (an IP or a user id) against ``scope``'s limit."""
        key = f"{self.prefix}{scope}:{identity}"
        interval_ms = limit.period_seconds * 1000 / limit.limit
        allowed, wait_ms = await self._script(keys=[key], args=[repr(interval_ms), limit.limit])
        return Decision(bool(allowed), max(1, math.ceil(int(wait_ms) / 1000)) if not allowed else 0)


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
