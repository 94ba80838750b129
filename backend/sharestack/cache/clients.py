"""Building one redis-py asyncio client per role, directly or through Sentinel.

Every role (sessions, cache, queue, ratelimit) has its own URL, so moving a role to its own instance
is a configuration change. With ``REDIS_SENTINELS`` set, the durable roles find their master through
Sentinel instead of the URL's host and port (the URL still gives the DB number and password); the
cache role keeps its plain URL because the cache instance is disposable and not replicated.

Failover behaviour, the part redis-py leaves to the application:
  * every client retries with exponential backoff and jitter on ConnectionError, TimeoutError,
    ReadOnlyError and MasterNotFoundError (a ConnectionError subclass) for about
    ``REDIS_RETRY_BUDGET_SECONDS`` (8 s by default): longer than a Sentinel switch (about 2.3 s
    with down-after-milliseconds 1000, about 6.5 s with the 5000 of deploy/redis/sentinel.conf),
    so a request that arrives during a failover waits instead of failing;
  * ``SwitchMasterWatcher`` listens for ``+switch-master`` on the sentinels and disconnects the
    pools of that master. Without it a pooled connection to an old master that is still alive
    (a graceful ``SENTINEL FAILOVER`` or a network partition) keeps acknowledging writes that the
    new master never sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError, ReadOnlyError, RedisError, TimeoutError

from sharestack.background import cancel_and_wait

logger = logging.getLogger(__name__)

RETRY_ERRORS: tuple[type[RedisError], ...] = (ConnectionError, TimeoutError, ReadOnlyError)


@dataclass(frozen=True)
class SentinelConfig:
    addresses: tuple[tuple[str, int], ...]
    master_name: str
    password: str | None = None

    @classmethod
    def parse(
        cls, sentinels: str | None, master_name: str, password: str | None
    ) -> SentinelConfig | None:
        """``REDIS_SENTINELS=host:port,host:port`` → a config; empty → None (no Sentinel)."""
        if not sentinels or not sentinels.strip():
            return None
        addresses = []
        for item in sentinels.split(","):
            item = item.strip()
            if not item:
                continue
            host, sep, port = item.rpartition(":")
            addresses.append((host, int(port)) if sep else (item, 26379))
        return cls(tuple(addresses), master_name, password or None)


class BlockingSentinelConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel discovery with the blocking pool's behaviour (see ``make_client``)."""


class RediscoveringSentinelConnection(SentinelManagedConnection):
    """A Sentinel-managed connection that asks Sentinel again whenever it reconnects.

    redis-py 8.1 reconnects a dropped connection inside ``send_packed_command`` through
    ``connect_check_health``, which skips ``SentinelManagedConnection.connect`` (the only place
    that asks Sentinel for the master) and dials the old host and port again. A command in flight
    when the master died therefore retried against the dead address for its whole retry budget and
    failed, although Sentinel had named a new master seconds earlier (the failover drill measured
    8 s of futile retries). Going through ``connect()`` on every reconnect fixes that.
    """

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self.is_connected:
            await self.connect()  # type: ignore[no-untyped-call]
        await super().send_packed_command(command, check_health)


_BACKOFF_BASE, _BACKOFF_CAP = 0.05, 0.5


def retries_for_budget(seconds: float) -> int:
    """Retries whose backoffs add up to about ``seconds`` on average: waits double from 50 ms to
    a 500 ms cap, each drawn from [half, full] (equal jitter, so clients do not retry in step)."""
    if seconds <= 0:
        return 0
    ramp = _BACKOFF_BASE + 2 * _BACKOFF_BASE + 4 * _BACKOFF_BASE + 8 * _BACKOFF_BASE
    full = seconds / 0.75  # equal jitter waits 75 % of the full backoff on average
    if full <= ramp:
        return max(1, round(full / ramp * 4))
    return 4 + math.ceil((full - ramp) / _BACKOFF_CAP)


def _retry(retries: int) -> Retry:
    return Retry(EqualJitterBackoff(cap=_BACKOFF_CAP, base=_BACKOFF_BASE), retries, RETRY_ERRORS)


def _url_parts(url: str) -> tuple[int, str | None, str | None]:
    """DB number, username and password of a redis:// URL (host and port come from Sentinel)."""
    parts = urlsplit(url)
    db = int(parts.path.lstrip("/") or 0)
    return (
        db,
        unquote(parts.username) if parts.username else None,
        (unquote(parts.password) if parts.password else None),
    )


def make_client(
    url: str,
    *,
    sentinel: SentinelConfig | None = None,
    retries: int = 24,
    socket_timeout: float = 1.0,
    client_name: str | None = None,
    max_connections: int = 100,
    pool_timeout: float = 5.0,
) -> Redis:
    """One role's client. ``retries=24`` with the backoff above waits about 8 s in total.

    The pool *blocks* (up to ``pool_timeout``) when all ``max_connections`` are busy. redis-py's
    default pool raises MaxConnectionsError instead, and under a burst of 200 concurrent requests
    that error reached the rate limiter, which then could not count the burst.
    """
    common: dict[str, Any] = {
        "max_connections": max_connections,
        "timeout": pool_timeout,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "health_check_interval": 15,
        "retry": _retry(retries),
        "retry_on_error": list(RETRY_ERRORS),
        "client_name": client_name,
    }
    if sentinel is None:
        return Redis.from_pool(BlockingConnectionPool.from_url(url, **common))
    db, username, password = _url_parts(url)
    manager = Sentinel(  # type: ignore[no-untyped-call]
        list(sentinel.addresses),
        socket_timeout=socket_timeout,
        # Sentinels have their own password (RECIPES §4 pitfall 1): without sentinel_kwargs
        # every discovery fails with an AuthenticationError hidden in MasterNotFoundError.
        sentinel_kwargs={
            "password": sentinel.password,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        },
    )
    client: Redis = manager.master_for(
        sentinel.master_name,
        connection_pool_class=BlockingSentinelConnectionPool,
        connection_class=RediscoveringSentinelConnection,
        db=db,
        username=username,
        password=password,
        **common,
    )
    return client


async def close_client(client: Redis) -> None:
    """Close a role client and, for a Sentinel-managed one, its connections to the sentinels
    (``Redis.aclose`` leaves those open)."""
    pool = client.connection_pool
    await client.aclose()
    manager = getattr(pool, "sentinel_manager", None)
    if isinstance(manager, Sentinel):
        await manager.aclose()


class SwitchMasterWatcher:
    """Subscribes to ``+switch-master`` on the first reachable sentinel and disconnects the pools
    of the given clients when their master moves (RECIPES §4 pitfall 3)."""

    def __init__(self, sentinel: SentinelConfig, clients: Sequence[Redis]) -> None:
        self._sentinel = sentinel
        self._clients = list(clients)
        self._task: asyncio.Task[None] | None = None
        self.switches = 0

    def start(self) -> None:
        if self._task is None and self._clients:
            self._task = asyncio.create_task(self._run(), name="redis-switch-master-watcher")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        index = 0
        while True:
            host, port = self._sentinel.addresses[index % len(self._sentinel.addresses)]
            index += 1
            conn = Redis(
                host=host,
                port=port,
                password=self._sentinel.password,
                socket_connect_timeout=1.0,
                # pubsub reads block; health checks keep a dead sentinel from hanging us.
                health_check_interval=5,
            )
            try:
                async with conn.pubsub() as ps:
                    await ps.subscribe("+switch-master")
                    async for message in ps.listen():
                        if message.get("type") != "message":
                            continue
                        data = message["data"]
                        text = data.decode() if isinstance(data, bytes) else str(data)
                        if text.split(" ", 1)[0] != self._sentinel.master_name:
                            continue
                        self.switches += 1
                        logger.warning(
                            "redis master switched; dropping pooled connections",
                            extra={"event": "redis_switch_master", "detail": text},
                        )
                        for client in self._clients:
                            await client.connection_pool.disconnect()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                # That sentinel is down: try the next one after a short pause.
                await asyncio.sleep(0.2)
            finally:
                with contextlib.suppress(Exception):
                    await conn.aclose()
