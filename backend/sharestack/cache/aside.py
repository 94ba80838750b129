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

  The same pipeline PUBLISHes the generation keys it changed, one message per write, so that
  every other process drops them from its in-process L1 (``cache/local``, ``cache/local_sync``).

  If the cache Redis cannot take an invalidation, the token change is kept in memory and the cache
  stays bypassed in this process until it is applied, so this process never serves what it just
  changed; other processes may serve the old value until it is applied (retried every 0.5 s) or
  until its TTL ends.

Stampede protection: when a value is missing or stale, concurrent requests in one process that
saw the same generation share one load (an in-process future), and across processes one request
takes the generation's rebuild lock (SET NX PX on ``<lock>:<token>``, ``CacheKey.rebuild_lock``)
and fills while the others poll value, generation and that lock with one MGET. The lock is named
per generation, so:
  * a successful fill never releases it: it stores the value and lets the lock lapse. Waiters
    take the value from the same snapshot that shows the lock, and the next generation (the next
    write) locks another name;
  * an invalidation during a rebuild never makes readers of the new generation wait for the old
    rebuild: they compete for the new generation's lock at once, and waiters on the old one
    switch to it when their poll shows the new token;
  * a fill that fails (the loader raised or was cancelled) deletes its lock (compare-and-delete),
    so the next reader rebuilds at once; a holder that dies leaves it to expire (LOCK_TTL_MS).
A scope read for the first time has no generation yet: the request creates one (SET NX GET) and
claims that token's lock in the same pipelined round trip. A cold read is thus MGET, SET NX GET +
SET NX PX, SET: four commands as Redis counts them (INFO commandstats), three when the generation
exists; no script, which Redis would count once per call inside it too. The price of never
releasing: if a value is evicted within LOCK_TTL_MS of its fill (LRU evicts it last), readers wait
for the rest of that lock's life, then one of them rebuilds.

Degradation: any Redis error opens a one-second breaker and the read goes to the database. A
broken cache is slower, never an error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sharestack.cache import keys
from sharestack.cache.keys import CacheKey, Family
from sharestack.cache.local import LocalCache
from sharestack.cache.local_sync import LocalSync, encode
from sharestack.metrics.registry import CACHE_ERRORS, CACHE_HITS, CACHE_LOADS, CACHE_MISSES

logger = logging.getLogger(__name__)

# loader(position): the bytes to cache (None = not found); ``position`` is what the read must
# have seen (see the module docstring and sharestack.db.routing).
Loader = Callable[[str | None], Awaitable[bytes | None]]

# The "token" of a load that will not be stored: read as the caller would without a cache.
_UNCACHED = b"@\x00uncached"
_NEGATIVE = b"-"  # payload marker for "not found" (negative caching)
_POSITIVE = b"+"
# A payload of this size or more is stored deflated (marker "z"): an item's JSON (Chinese text,
# twice: with and without its body) shrinks to about half, so the cache's memory holds about
# twice the items, and inflating 3 KB costs a few microseconds of a hit from Redis (the L1 keeps
# the inflated bytes). Level 1: nearly the ratio of the default at a fraction of its time.
_DEFLATED = b"z"
_DEFLATE_FROM = 512
_POLL_INTERVAL = 0.02


def _new_token() -> bytes:
    return secrets.token_hex(8).encode()


def _as_bytes(value: object) -> bytes:
    # The role clients do not decode responses; a str would mean a misconfigured client.
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _encode(token: bytes, value: bytes | None) -> bytes:
    """``<token>|<marker><payload>``: ``-`` not found, ``+`` as it is, ``z`` deflated."""
    if value is None:
        return token + b"|" + _NEGATIVE
    if len(value) >= _DEFLATE_FROM:
        return token + b"|" + _DEFLATED + zlib.compress(value, 1)
    return token + b"|" + _POSITIVE + value


def _decode(raw: object, token: bytes) -> tuple[bool, bytes | None]:
    """(valid for this generation, payload) of a value stored by :func:`_encode`."""
    if raw is None:
        return False, None
    stored_token, _, body = _as_bytes(raw).partition(b"|")
    if stored_token != token:
        return False, None
    marker = body[:1]
    if marker == _NEGATIVE:
        return True, None
    if marker == _DEFLATED:
        return True, zlib.decompress(body[1:])
    return True, body[1:]


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
        # (value key, generation token) -> the load in flight. Per token: a reader that saw a
        # newer generation must not be handed a load that began before the write.
        self._inflight: dict[tuple[str, bytes], asyncio.Future[bytes | None]] = {}
        # generation key -> the value it must get, for invalidations Redis could not take yet
        self._pending_invalidations: dict[str, bytes] = {}
        self._retry_task: asyncio.Task[None] | None = None
        # Invalidations reach other processes' L1 over this channel (``cache/local_sync``).
        self.channel = keys.l1_channel(prefix)
        self.origin = secrets.token_hex(6)
        self.local_sync: LocalSync | None = None

    def start(self) -> None:
        """Subscribe this process's L1 to every process's invalidations (needs a running loop).
        Without an L1 (or without Redis) there is nothing to keep in step."""
        if self.redis is not None and self.local.enabled and self.local_sync is None:
            self.local_sync = LocalSync(self.redis, self.channel, self.local, self.origin)
            self.local_sync.start()

    # -- reads -------------------------------------------------------------------------------

    def _available(self) -> bool:
        return (
            self.redis is not None
            and not self._pending_invalidations
            and time.monotonic() >= self._open_until
        )

    def local_payload(self, key: CacheKey) -> bytes | None:
        """What :meth:`get_or_load` would answer from the L1 alone for an anonymous caller with
        no recent write (``local=True``, no position): the payload, or None when it would have
        to look further (not in the L1, a cached "not found", the L1 suspended or the cache
        unavailable). No I/O, and not counted as a hit: the caller counts it if it answers."""
        if not self.local.enabled or not self._available():
            return None
        found, payload = self.local.get(key.value)
        return payload if found else None

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
            found, payload, token, claimed = await self._read(key)
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
            result = await self._single_flight(key, loader, token, claimed)
        if use_local:
            self.local.put(key.value, key.generation, result, epoch)
        return result

    async def _single_flight(
        self, key: CacheKey, loader: Loader, token: bytes, claimed: bool | None
    ) -> bytes | None:
        flight = (key.value, token)
        shared = self._inflight.get(flight)
        if shared is not None:
            if not claimed:
                return await asyncio.shield(shared)
            # We hold the lock (taken while creating the generation) that the request in flight
            # is waiting for: fill, and it will find our value.
            return await self._guarded_rebuild(key, loader, token, claimed)
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._inflight[flight] = future
        try:
            result = await self._guarded_rebuild(key, loader, token, claimed)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[flight]

    async def _read(self, key: CacheKey) -> tuple[bool, bytes | None, bytes, bool | None]:
        """(valid value found, payload, current generation token, whether this request holds the
        token's rebuild lock: None when it has not tried)."""
        assert self.redis is not None
        raw, current = await self.redis.mget(key.value, key.generation)
        if current is not None:
            token = _as_bytes(current)
            found, payload = _decode(raw, token)
            return found, payload, token, None
        # A scope never read (or its generation evicted): create the generation. SET NX GET
        # answers with whoever won the race. The rebuild lock of our token rides in the same
        # round trip: it is ours if our token won, and a harmless stray for LOCK_TTL_MS if not
        # (nobody else knows the token). Its value is the token itself, unique to this request.
        fresh = _new_token()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(key.generation, fresh, nx=True, get=True, ex=keys.GENERATION_TTL)
            if self.stampede_guard:
                pipe.set(key.rebuild_lock(fresh), fresh, nx=True, px=keys.LOCK_TTL_MS)
            replies = await pipe.execute()
        if replies[0] is not None:
            return False, None, _as_bytes(replies[0]), None
        return False, None, fresh, (bool(replies[1]) if self.stampede_guard else None)

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
        await self._store(key, token, value)
        return value

    def _ttl(self, key: CacheKey, value: bytes | None) -> int:
        fresh_ttl, negative_ttl = self.ttls[key.family]
        return _jitter(negative_ttl if value is None else fresh_ttl)

    async def _store(self, key: CacheKey, token: bytes, value: bytes | None) -> None:
        try:
            assert self.redis is not None
            await self.redis.set(key.value, _encode(token, value), ex=self._ttl(key, value))
        except (RedisError, OSError) as exc:
            self._trip(exc)

    async def _guarded_rebuild(
        self, key: CacheKey, loader: Loader, token: bytes, claimed: bool | None
    ) -> bytes | None:
        try:
            found, payload, token, lock_value = await self._take_turn(key, token, claimed)
        except (RedisError, OSError) as exc:
            self._trip(exc)
            return await self._load(key, loader, token)
        if found:
            return payload
        if lock_value is None:  # waited as long as a lock lives: rebuild unguarded
            return await self._load_and_store(key, loader, token)
        try:
            value = await self._load(key, loader, token)
        except BaseException:
            # Free the lock, so the next reader rebuilds at once instead of waiting it out.
            await self._release(key.rebuild_lock(token), lock_value)
            raise
        # Stored, the lock stays: the value answers the waiters, and it lapses on its own.
        await self._store(key, token, value)
        return value

    async def _take_turn(
        self, key: CacheKey, token: bytes, claimed: bool | None
    ) -> tuple[bool, bytes | None, bytes, bytes | None]:
        """Wait for another process's rebuild or take this generation's lock. Returns (value
        found, payload, generation token, our lock's value if the rebuild is ours)."""
        assert self.redis is not None
        lock_value = token  # the value of a lock claimed while creating the generation
        deadline = time.monotonic() + keys.LOCK_TTL_MS / 1000
        while True:
            if claimed is None:
                lock_value = _new_token()
                claimed = bool(
                    await self.redis.set(
                        key.rebuild_lock(token), lock_value, nx=True, px=keys.LOCK_TTL_MS
                    )
                )
            if claimed:
                return False, None, token, lock_value
            if time.monotonic() >= deadline:
                return False, None, token, None
            await asyncio.sleep(_POLL_INTERVAL)
            # Value, generation and this generation's lock in one snapshot: a successful holder
            # stored the value (and keeps its lock), a failed one deleted its lock, a dead one's
            # lock expired. So: the value, or the lock (still rebuilding), or neither (our turn).
            raw, current, lock = await self.redis.mget(
                key.value, key.generation, key.rebuild_lock(token)
            )
            if current is None:  # generation evicted: nothing to wait for
                return False, None, token, None
            current_token = _as_bytes(current)
            found, payload = _decode(raw, current_token)
            if found:
                return True, payload, current_token, None
            if current_token != token:
                # Invalidated during the rebuild: the old holder's value would be refused, so
                # compete for the new generation's lock now rather than wait for the old one.
                token, claimed = current_token, None
            elif lock is None:
                claimed = None

    async def _release(self, lock: bytes, lock_value: bytes) -> None:
        assert self.redis is not None
        try:
            await self.redis.eval(_RELEASE_LOCK, 1, lock, lock_value)
        except (RedisError, OSError) as exc:
            self._trip(exc)

    # -- bulk fills (warming) -----------------------------------------------------------------

    async def fill_many(
        self,
        cache_keys: list[CacheKey],
        load: Callable[[], Awaitable[list[bytes | None]]],
    ) -> int:
        """Fill many entries in three round trips, for warming the cache
        (``content.cached.warm_items``): each key's current generation is read (or created)
        first, then ``load()`` gives the payloads (aligned with ``cache_keys``; None = not
        found), and each is stored under the generation read *before* the load, as a single
        fill does: a write that commits meanwhile gives its scope a new generation, under which
        nothing stored here is accepted. ``load`` must read from a server that has applied every
        write (the primary), since the generations may name positions. Redis errors are raised:
        a warm-up that cannot reach the cache has nothing to do."""
        if self.redis is None or not cache_keys:
            return 0
        generations = [k.generation for k in cache_keys]
        current = await self.redis.mget(generations)
        missing = {g for g, token in zip(generations, current, strict=True) if token is None}
        created: dict[str, bytes] = {}
        if missing:
            async with self.redis.pipeline(transaction=False) as pipe:
                fresh = {g: _new_token() for g in missing}
                for generation, token in fresh.items():
                    pipe.set(generation, token, nx=True, get=True, ex=keys.GENERATION_TTL)
                for generation, previous in zip(fresh, await pipe.execute(), strict=True):
                    created[generation] = (
                        _as_bytes(previous) if previous is not None else fresh[generation]
                    )
        tokens = [
            created[g] if token is None else _as_bytes(token)
            for g, token in zip(generations, current, strict=True)
        ]
        payloads = await load()
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, token, value in zip(cache_keys, tokens, payloads, strict=True):
                pipe.set(key.value, _encode(token, value), ex=self._ttl(key, value))
            await pipe.execute()
        return len(cache_keys)

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
            # After the SETs: a process that drops its L1 entry and reads again sees the new
            # generation. One message for the whole write.
            pipe.publish(self.channel, encode(self.origin, values))
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
        if self.local_sync is not None:
            await self.local_sync.stop()
            self.local_sync = None


_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
