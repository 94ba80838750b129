"""Liveness and readiness.

``/healthz`` does no I/O: it says the process serves HTTP. ``/readyz`` runs every readiness check
in ``app.state.readiness`` concurrently (database, Redis, and any a later component adds) and
answers 503 naming what failed, so a load balancer stops sending traffic there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request

from sharestack.responses import ORJSONResponse

router = APIRouter(tags=["health"])

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


def default_checks(app: FastAPI) -> list[ReadinessCheck]:
    async def database() -> CheckResult:
        async def probe() -> None:
            async with app.state.db.write_engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

        return await timed("database", probe)

    async def redis_roles() -> list[CheckResult]:
        clients = app.state.redis.distinct_clients()
        return list(
            await asyncio.gather(
                *(timed(f"redis_{role}", client.ping) for role, client in clients.items())
            )
        )

    return [database, redis_roles]


def replica_checks(app: FastAPI) -> ReadinessCheck:
    """One non-critical entry per read replica, from the lag breaker's last sample (no I/O here:
    the breaker samples every second). An open breaker sends reads to the primary, so the
    instance stays ready."""

    async def replicas() -> list[CheckResult]:
        return [
            CheckResult(
                name=f"db_replica_{state['name']}",
                ok=bool(state["healthy"]),
                latency_ms=0.0,
                detail=None if state["healthy"] else f"{state['reason']} (reads go elsewhere)",
                critical=False,
            )
            for state in app.state.db.replica_health()
        ]

    return replicas


@router.get("/healthz", include_in_schema=True)
async def healthz() -> ORJSONResponse:
    return ORJSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> ORJSONResponse:
    checks: list[ReadinessCheck] = request.app.state.readiness
    results: list[CheckResult] = []
    for outcome in await asyncio.gather(*(check() for check in checks)):
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    failed = [r.name for r in results if not r.ok and r.critical]
    body = {
        "status": "fail" if failed else "ok",
        "failed": failed,
        "checks": {
            r.name: {"ok": r.ok, "latency_ms": r.latency_ms, "critical": r.critical}
            | ({"error": r.detail} if r.detail else {})
            for r in results
        },
    }
    return ORJSONResponse(body, status_code=503 if failed else 200)
