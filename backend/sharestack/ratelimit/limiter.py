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

import asyncio
import logging
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sharestack.errors import AppError

if TYPE_CHECKING:
    from sharestack.config import Settings


logger = logging.getLogger(__name__)

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
    limit: Limit
    # Redis refused the last request: no cell exists for anyone before this (monotonic) time.
    refused_until: float = 0.0


class RateLimiter:
    """``hit`` asks Redis every time (exact across processes). ``hit_leased`` takes cells from
    Redis in leases and spends them in-process: a busy identity costs one script call per lease
    instead of per request. Leases never let more than the limit through (every leased cell was
    granted by the same script); cells left unused when a lease expires (``LEASE_SECONDS``) are
    lost, so a lease grows (doubling, up to ``MAX_LEASE`` and to an eighth of the limit, so no
    process holds much of an identity's allowance) only while the previous one was used up in
    time, and a client sending one request at a time always leases one cell.

    A busy identity's lease is topped up before it runs out: when a lease of ``PREFETCH_FROM``
    cells or more is half spent, one background call asks for the next one, so requests keep
    spending in-process instead of queueing behind a refill (and ``spend_local`` keeps finding a
    cell). Concurrent requests that do find the lease empty share one refill, and a refusal is
    remembered until the time Redis named: no cell exists for anyone before then, so refusing
    locally in the meantime is as exact as asking, and a flood of refused requests costs Redis one
    call per refusal window, not one per request."""

    LEASE_SECONDS = 1.0
    MAX_LEASE = 1024
    PREFETCH_FROM = 8
    MAX_IDENTITIES = 10_000

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_GCRA)
        self._leases: OrderedDict[str, _Lease] = OrderedDict()
        self._refills: dict[str, asyncio.Future[None]] = {}
        self._background: set[asyncio.Task[None]] = set()

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

    def spend_local(self, scope: str, identity: str) -> bool:
        """Spend one cell of this process's lease for ``identity`` if it has one left (no I/O);
        False means "ask :meth:`hit_leased`", not "refused"."""
        return self._spend(f"{self.prefix}{scope}:{identity}", time.monotonic())

    def _spend(self, key: str, now: float) -> bool:
        lease = self._leases.get(key)
        if lease is None or lease.left <= 0 or lease.expires_at <= now:
            return False
        lease.left -= 1
        if lease.size >= self.PREFETCH_FROM and lease.left <= lease.size // 2:
            self._prefetch(key, lease)
        return True

    async def hit_leased(self, scope: str, identity: str, limit: Limit) -> Decision:
        """Like :meth:`hit`, from an in-process lease when this process holds one."""
        key = f"{self.prefix}{scope}:{identity}"
        while True:
            now = time.monotonic()
            if self._spend(key, now):
                self._leases.move_to_end(key)
                return Decision(True, 0)
            lease = self._leases.get(key)
            if lease is not None and lease.refused_until > now:
                return Decision(False, max(1, math.ceil(lease.refused_until - now)))
            refill = self._refills.get(key)
            if refill is None:
                break
            await asyncio.shield(refill)  # then spend from what it brought, or refill again
        refill = asyncio.get_running_loop().create_future()
        self._refills[key] = refill
        try:
            granted, wait_ms = await self._refill(key, limit, lease, now)
            if granted:
                self._spend(key, time.monotonic())  # this request's cell
            return _decision(granted, wait_ms)
        finally:
            del self._refills[key]
            refill.set_result(None)

    async def _refill(
        self, key: str, limit: Limit, lease: _Lease | None, now: float
    ) -> tuple[int, int]:
        size = 1
        if lease is not None:
            if lease.left == 0 and lease.expires_at > now:
                # Used up before it expired: this identity is busy, ask for more.
                size = self._grown(lease)
            else:
                # It expired: ask for what was spent of it in its lifetime, the identity's rate
                # (a client sending one request at a time spent one), not for one cell and a
                # new ramp of doublings.
                size = max(1, min(lease.size - lease.left, self._grown(lease)))
        granted, wait_ms = await self._take(key, limit, size)
        self._store(key, limit, granted, size, now + wait_ms / 1000)
        return granted, wait_ms

    def _store(self, key: str, limit: Limit, granted: int, size: int, refused_until: float) -> None:
        now = time.monotonic()
        current = self._leases.get(key)
        left = current.left if current is not None and current.expires_at > now else 0
        if granted:
            # Cells still unspent stay spendable with the new ones.
            self._leases[key] = _Lease(left + granted, size, now + self.LEASE_SECONDS, limit)
        elif left == 0:
            expires_at = current.expires_at if current is not None else now
            kept = current.size if current is not None else 1
            self._leases[key] = _Lease(0, kept, expires_at, limit, refused_until)
        self._leases.move_to_end(key)
        while len(self._leases) > self.MAX_IDENTITIES:
            self._leases.popitem(last=False)

    def _grown(self, lease: _Lease) -> int:
        return max(1, min(self.MAX_LEASE, lease.limit.limit // 8, lease.size * 2))

    def _prefetch(self, key: str, lease: _Lease) -> None:
        if key in self._refills:
            return
        refill = asyncio.get_running_loop().create_future()
        self._refills[key] = refill
        size = self._grown(lease)

        async def top_up() -> None:
            try:
                granted, _ = await self._take(key, lease.limit, size)
                if granted:
                    self._store(key, lease.limit, granted, size, 0.0)
            except (RedisError, OSError):
                logger.warning("rate limit lease top-up failed", exc_info=True)
            finally:
                del self._refills[key]
                refill.set_result(None)

        task = asyncio.get_running_loop().create_task(top_up())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


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
