"""Liveness and readiness.

``/healthz`` does no I/O: it says the process serves HTTP. ``/readyz`` runs every readiness check
in ``AppState.readiness`` concurrently (database, Redis, replicas, and any a later component adds;
see ``health/checks``) and answers 503 naming what failed, so a load balancer stops sending
traffic there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from sharestack.dependencies import StateDep
from sharestack.readiness import CheckResult
from sharestack.responses import ORJSONResponse

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: str


class CheckReport(BaseModel):
    ok: bool
    latency_ms: float
    critical: bool
    error: str | None = None


class Readiness(BaseModel):
    """What ``/readyz`` answers, 200 or 503 alike (documentation only: built as a dict)."""

    status: str
    failed: list[str]
    checks: dict[str, CheckReport]


_READINESS: dict[int | str, dict[str, Any]] = {
    503: {"model": Readiness, "description": "A critical dependency failed (named in `failed`)."}
}


@router.get("/healthz", response_model=Liveness)
async def healthz() -> ORJSONResponse:
    return ORJSONResponse({"status": "ok"})


@router.get("/readyz", response_model=Readiness, responses=_READINESS)
async def readyz(state: StateDep) -> ORJSONResponse:
    results: list[CheckResult] = []
    for outcome in await asyncio.gather(*(check() for check in state.readiness)):
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
