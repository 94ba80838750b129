"""Readiness checks: each probes one dependency and reports its latency. ``/readyz`` runs them
all concurrently (``health/router``); components add their own to ``AppState.readiness``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sharestack.resources import Resources

CHECK_TIMEOUT_SECONDS = 2.0


@dataclass
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    detail: str | None = None
    # A non-critical check (for example one replica out of several) is reported but does not
    # make the instance unready.
    critical: bool = True


ReadinessCheck = Callable[[], Awaitable[CheckResult | list[CheckResult]]]


async def timed(
    name: str, probe: Callable[[], Awaitable[Any]], critical: bool = True
) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a readiness probe reports every failure, whatever its kind
        detail = f"{type(exc).__name__}: {exc}"[:300]
        return CheckResult(name, False, _ms(started), detail, critical)
    return CheckResult(name, True, _ms(started), None, critical)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def default_checks(resources: Resources) -> list[ReadinessCheck]:
    """The database, every Redis role, one non-critical entry per read replica, and the media
    storage (non-critical)."""

    async def database() -> CheckResult:
        async def probe() -> None:
            async with resources.db.write_engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

        return await timed("database", probe)

    async def redis_roles() -> list[CheckResult]:
        clients = resources.redis.distinct_clients()
        return list(
            await asyncio.gather(
                *(timed(f"redis_{role}", client.ping) for role, client in clients.items())
            )
        )

    async def replicas() -> list[CheckResult]:
        # From the lag breaker's last sample (no I/O here: the breaker samples every second).
        # An open breaker sends reads to the primary, so the instance stays ready.
        return [
            CheckResult(
                name=f"db_replica_{state['name']}",
                ok=bool(state["healthy"]),
                latency_ms=0.0,
                detail=None if state["healthy"] else f"{state['reason']} (reads go elsewhere)",
                critical=False,
            )
            for state in resources.db.replica_health()
        ]

    async def media_storage() -> CheckResult:
        # Reported, not critical: every instance shares the storage, so taking this one out of
        # rotation would not help; reads that need no file keep working meanwhile.
        return await timed("media_storage", resources.storage.check, critical=False)

    return [database, redis_roles, replicas, media_storage]
