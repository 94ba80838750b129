"""Cache-aside for hot reads, with generation-based invalidation and single-flight rebuilds.

Invalidation design (generation tokens, not deletes of known keys):
  Every cached value lives next to a *generation key* for its invalidation scope (one content
  item by id, one by slug, one creator's feed with all its pages, one tag feed, one profile). The
  value is stored as ``<generation token>|<payload>``. A read fetches value and generation with one
  MGET and accepts the value only if its token equals the current generation. A write, after its
  transaction commits and before its response is sent, sets a new random token on each affected
  generation key. That single SET invalidates every page of a feed without knowing which pages
  exist, and it closes the classic cache-aside race: a reader that loaded the old row before the
  commit stores it under the *old* token, which no later reader accepts. Tokens are random rather
  than counters so that an evicted or expired generation key (the cache instance is allkeys-lru)
  can never make an old value valid again: a missing generation key gets a fresh token, which
  matches nothing. A writer's token also carries ``@<database position>`` after its commit, which
  the loader receives: a fill must read from a server that has applied the write that invalidated
  the entry (``sharestack.db.routing``), or it could store the pre-write row under the post-write
  generation until its TTL ends. A generation created by a reader carries no position, and any
  healthy replica may fill it. When nothing will be stored (the cache is off or unreachable) the
  loader receives the caller's own read position instead, as any uncached read would.

  If the cache Redis cannot take an invalidation, the token change is kept in memory and the cache
  stays bypassed in this process until it is applied, so this process never serves what it just
  changed; other processes may serve the old value until it is applied (retried every 0.5 s) or
  until its TTL ends.

Stampede protection: when a value is missing or stale, concurrent requests in one process share
one load (an in-process future), and across processes one request takes a short Redis lock
(SET NX PX) and rebuilds while the others poll for the new value. If the lock holder dies, the
others rebuild themselves once the lock expires.

Degradation: any Redis error opens a one-second breaker and the read goes to the database. A
broken cache is slower, never an error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sharestack.cache import keys
from sharestack.cache.keys import CacheKey, Family
from sharestack.cache.local import LocalCache
from sharestack.metrics.registry import CACHE_ERRORS, CACHE_HITS, CACHE_LOADS, CACHE_MISSES

logger = logging.getLogger(__name__)

# loader(position): the bytes to cache (None = not found); ``position`` is what the read must
# have seen (see the module docstring and sharestack.db.routing).
Loader = Callable[[str | None], Awaitable[bytes | None]]

# The "token" of a load that will not be stored: read as the caller would without a cache.
_UNCACHED = b"@\x00uncached"
_NEGATIVE = b"-"  # payload marker for "not found" (negative caching)
_POSITIVE = b"+"
_POLL_INTERVAL = 0.02


def _new_token() -> bytes:
    return secrets.token_hex(8).encode()


def _as_bytes(value: object) -> bytes:
    # The role clients do not decode responses; a str would mean a misconfigured client.
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _decode(raw: object, token: bytes) -> tuple[bool, bytes | None]:
    """(valid for this generation, payload) of a stored ``<token>|<+payload or ->`` value."""
    if raw is None:
        return False, None
    stored_token, _, body = _as_bytes(raw).partition(b"|")
    if stored_token != token:
        return False, None
    return True, (None if body[:1] == _NEGATIVE else body[1:])


def _jitter(ttl: int) -> int:
    # ±10 % so that keys filled together (a warm-up, a deploy) do not expire together.
    return max(1, int(ttl * random.uniform(0.9, 1.1)))  # noqa: S311 (not security)


class CacheAside:
    def __init__(
        self,
        redis: Redis | None,
        *,
        prefix: str = "",
        stampede_guard: bool = True,
        breaker_seconds: float = 1.0,
        ttls: dict[Family, tuple[int, int]] | None = None,
        local: LocalCache | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.stampede_guard = stampede_guard
        self.breaker_seconds = breaker_seconds
        self.ttls = ttls or keys.TTLS
        self._open_until = 0.0
        self.local = local or LocalCache(ttl=0, max_entries=0)
        self._inflight: dict[str, asyncio.Future[bytes | None]] = {}
        # generation key -> the value it must get, for invalidations Redis could not take yet
        self._pending_invalidations: dict[str, bytes] = {}
        self._retry_task: asyncio.Task[None] | None = None

    # -- reads -------------------------------------------------------------------------------

    def _available(self) -> bool:
        return (
            self.redis is not None
            and not self._pending_invalidations
            and time.monotonic() >= self._open_until
        )

    def _trip(self, exc: BaseException) -> None:
        CACHE_ERRORS.inc()
        if time.monotonic() >= self._open_until:
            logger.warning("cache redis unavailable; reading from the database: %r", exc)
        self._open_until = time.monotonic() + self.breaker_seconds

    async def get_or_load(
        self,
        key: CacheKey,
        loader: Loader,
        caller_position: str | None = None,
        *,
        local: bool = False,
    ) -> bytes | None:
        """The cached bytes for ``key``, or the loader's bytes (None = not found, cached too).
        ``caller_position``: what the caller's own reads must have seen, used only for a load
        that will not be stored."""
        if not self._available():
            CACHE_MISSES.labels(key.family).inc()
            # Cache off or unreachable: nothing is stored, so ordinary read routing is safe.
            return await self._load(key, loader, _UNCACHED, caller_position)
        # The L1 (cache/local) only when the caller allows it (anonymous) and has no recent write.
        use_local = local and self.local.enabled and caller_position is None
        if use_local:
            found, payload = self.local.get(key.value)
            if found:
                CACHE_HITS.labels(key.family).inc()
                return payload
        epoch = self.local.epoch
        try:
            found, payload, token = await self._read(key)
        except (RedisError, OSError) as exc:
            self._trip(exc)
            CACHE_MISSES.labels(key.family).inc()
            return await self._load(key, loader, _UNCACHED, caller_position)
        if found:
            CACHE_HITS.labels(key.family).inc()
            if use_local:
                self.local.put(key.value, key.generation, payload, epoch)
            return payload
        CACHE_MISSES.labels(key.family).inc()
        if not self.stampede_guard:
            result = await self._load_and_store(key, loader, token)
        else:
            result = await self._single_flight(key, loader, token)
        if use_local:
            self.local.put(key.value, key.generation, result, epoch)
        return result

    async def _single_flight(self, key: CacheKey, loader: Loader, token: bytes) -> bytes | None:
        shared = self._inflight.get(key.value)
        if shared is not None:
            return await asyncio.shield(shared)
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._inflight[key.value] = future
        try:
            result = await self._guarded_rebuild(key, loader, token)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key.value]

    async def _read(self, key: CacheKey) -> tuple[bool, bytes | None, bytes]:
        """(valid value found, payload, current generation token)."""
        assert self.redis is not None
        raw, current = await self.redis.mget(key.value, key.generation)
        if current is None:
            fresh = _new_token()
            # SET NX GET: our token if the key was missing, otherwise whoever won the race.
            previous = await self.redis.set(
                key.generation, fresh, nx=True, get=True, ex=keys.GENERATION_TTL
            )
            return False, None, _as_bytes(previous) if previous is not None else fresh
        token = _as_bytes(current)
        found, payload = _decode(raw, token)
        return found, payload, token

    async def _load(
        self, key: CacheKey, loader: Loader, token: bytes, caller_position: str | None = None
    ) -> bytes | None:
        CACHE_LOADS.labels(key.family).inc()
        if token == _UNCACHED:
            return await loader(caller_position)
        # The generation may name the database position a fill must have seen.
        return await loader(token.partition(b"@")[2].decode() or None)

    async def _load_and_store(self, key: CacheKey, loader: Loader, token: bytes) -> bytes | None:
        value = await self._load(key, loader, token)
        fresh_ttl, negative_ttl = self.ttls[key.family]
        body = _NEGATIVE if value is None else _POSITIVE + value
        try:
            assert self.redis is not None
            await self.redis.set(
                key.value,
                token + b"|" + body,
                ex=_jitter(negative_ttl if value is None else fresh_ttl),
            )
        except (RedisError, OSError) as exc:
            self._trip(exc)
        return value

    async def _guarded_rebuild(self, key: CacheKey, loader: Loader, token: bytes) -> bytes | None:
        assert self.redis is not None
        lock_token = secrets.token_hex(8)
        try:
            acquired = await self.redis.set(key.lock, lock_token, nx=True, px=keys.LOCK_TTL_MS)
        except (RedisError, OSError) as exc:
            self._trip(exc)
            return await self._load(key, loader, token)
        if acquired:
            try:
                return await self._load_and_store(key, loader, token)
            finally:
                try:
                    await self.redis.eval(_RELEASE_LOCK, 1, key.lock, lock_token)
                except (RedisError, OSError) as exc:
                    self._trip(exc)
        # Another process is rebuilding: wait for its value, at most as long as its lock lives.
        deadline = time.monotonic() + keys.LOCK_TTL_MS / 1000
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(_POLL_INTERVAL)
                # Value and lock in one MGET: the holder stores the value before it releases the
                # lock, so one snapshot shows the value, the lock, or (holder gone) neither.
                raw, current, lock = await self.redis.mget(key.value, key.generation, key.lock)
                if current is not None:
                    token = _as_bytes(current)
                    found, payload = _decode(raw, token)
                    if found:
                        return payload
                if lock is None:
                    break
        except (RedisError, OSError) as exc:
            self._trip(exc)
            return await self._load(key, loader, token)
        return await self._load_and_store(key, loader, token)

    # -- writes ------------------------------------------------------------------------------

    async def invalidate(self, *cache_keys: CacheKey) -> None:
        """Give each key's scope a new generation. Call after the write's transaction commits and
        before its response is sent (see the module docstring)."""
        await self._invalidate_generations({k.generation for k in cache_keys})

    async def invalidate_scopes(self, scopes: set[str], position: str | None = None) -> None:
        """The same for scopes named by ``keys.scope_*`` (what write paths note down).
        ``position``: what a fill of these scopes must have seen (``sharestack.db.routing``)."""
        generations = {keys.generation_key(self.prefix, s) for s in scopes}
        await self._invalidate_generations(generations, position)

    async def _invalidate_generations(
        self, generations: set[str], position: str | None = None
    ) -> None:
        if not generations or self.redis is None:
            return
        self.local.drop(generations)  # this process: at once, before the response is sent
        # Tokens are unique per write; "@position" tells fills what they must have seen.
        suffix = f"@{position}".encode() if position else b""
        values = {g: _new_token() + suffix for g in generations}
        try:
            await self._apply_invalidations(values)
        except (RedisError, OSError) as exc:
            self._trip(exc)
            self._pending_invalidations.update(values)
            self._schedule_retry()

    async def _apply_invalidations(self, values: dict[str, bytes]) -> None:
        assert self.redis is not None
        async with self.redis.pipeline(transaction=False) as pipe:
            for generation, value in values.items():
                pipe.set(generation, value, ex=keys.GENERATION_TTL)
            await pipe.execute()

    def _schedule_retry(self) -> None:
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.create_task(self._retry_pending())

    async def _retry_pending(self) -> None:
        while self._pending_invalidations:
            await asyncio.sleep(0.5)
            pending = dict(self._pending_invalidations)
            try:
                await self._apply_invalidations(pending)
            except (RedisError, OSError):
                continue
            for generation, value in pending.items():
                if self._pending_invalidations.get(generation) == value:
                    del self._pending_invalidations[generation]

    async def aclose(self) -> None:
        if self._retry_task is not None:
            self._retry_task.cancel()


_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
