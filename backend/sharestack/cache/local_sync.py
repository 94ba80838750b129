"""Every process's L1 (``cache/local``) hears every process's invalidations: one PUBLISH per write
on the cache Redis, one subscriber per process. Why pub/sub and how a lost message is made
harmless: ``cache/local``.

A message is ``<origin>\\n<generation key>\\n...``: all the generation keys one write changed, so a
write costs one PUBLISH however many scopes it touched (``CacheAside._apply_invalidations``).
The origin is the publishing CacheAside, which has dropped its own entries already.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, RedisError

from sharestack.background import cancel_and_wait
from sharestack.cache.local import LocalCache

logger = logging.getLogger(__name__)

# How the subscriber's own connection reaches the cache Redis: the role client's address, auth
# and TLS, nothing of its pool's internals.
_CONNECTION_KEYS = {
    "host",
    "port",
    "path",
    "db",
    "username",
    "password",
    "socket_timeout",
    "socket_connect_timeout",
    "socket_keepalive",
}


_FIRST_PAUSE, _MAX_PAUSE = 0.05, 2.0  # between attempts to subscribe, doubling


def encode(origin: str, generations: Iterable[str]) -> bytes:
    return "\n".join([origin, *sorted(generations)]).encode()


def decode(data: bytes) -> tuple[str, set[str]]:
    origin, *generations = data.decode().split("\n")
    return origin, set(generations)


class LocalSync:
    """The subscriber: drops the generations other processes changed from ``local``.

    The L1 is suspended (empty and unused) from ``start`` until the subscription is confirmed,
    whenever the connection fails or stays silent for three ``heartbeat`` intervals (pinged after
    one), and cleared again on every (re)subscription: messages published in between are lost.
    """

    def __init__(
        self,
        redis: Redis,
        channel: str,
        local: LocalCache,
        origin: str,
        *,
        heartbeat: float = 1.0,
    ) -> None:
        self.channel = channel
        self.local = local
        self.origin = origin
        self.heartbeat = heartbeat
        # Named, so that CLIENT LIST shows each process's subscriber; no retries of its own: a
        # failure must reach ``_run`` (which suspends the L1), not be papered over.
        self.client_name = f"sharestack-l1-{origin}"
        source = redis.connection_pool
        kwargs = {
            k: v
            for k, v in source.connection_kwargs.items()
            if k in _CONNECTION_KEYS or k.startswith("ssl")
        }
        self._client = Redis.from_pool(
            ConnectionPool(
                connection_class=source.connection_class,
                max_connections=1,
                client_name=self.client_name,
                retry=Retry(NoBackoff(), 0),
                **kwargs,
            )
        )
        self._task: asyncio.Task[None] | None = None
        self.subscriptions = 0  # first subscription and every resubscription

    def start(self) -> None:
        if self._task is None:
            self.local.suspend()
            self._task = asyncio.create_task(self._run(), name="cache-l1-sync")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self.local.suspend()
        await self._client.aclose()

    async def _run(self) -> None:
        pause = _FIRST_PAUSE
        while True:
            subscriptions = self.subscriptions
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                if self.subscriptions != subscriptions or pause == _FIRST_PAUSE:
                    logger.warning("cache L1 subscription lost; L1 off until it is back: %r", exc)
            finally:
                self.local.suspend()
            if self.subscriptions != subscriptions:  # it was up: try again soon
                pause = _FIRST_PAUSE
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._client.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            heard = loop.time()
            while True:
                message = await pubsub.get_message(timeout=self.heartbeat)
                now = loop.time()
                if message is None:
                    if now - heard > 3 * self.heartbeat:
                        raise ConnectionError("the cache Redis stopped answering the subscriber")
                    if now - heard >= self.heartbeat:
                        await pubsub.ping()
                    continue
                heard = now
                if message["type"] == "subscribe":
                    # Subscribed (again): whatever was published before is lost to us.
                    self.subscriptions += 1
                    self.local.resume()
                elif message["type"] == "message":
                    origin, generations = decode(message["data"])
                    if origin != self.origin:
                        self.local.drop(generations)
