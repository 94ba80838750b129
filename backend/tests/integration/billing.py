"""Helpers for the billing tests: jobs run inline, and the HTTP steps of a subscription."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.dependencies import app_state
from sharestack.jobs.queue import InProcessJobQueue
from sharestack.state import AppState
from tests.integration.helpers import Account


@dataclass
class InlineJobs:
    """The app's outbox relay handing jobs to an in-process runner (the integration tier runs
    no worker), and a way to wait until every job they lead to has run."""

    state: AppState
    queue: InProcessJobQueue

    async def settle(self, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        quiet = 0
        while quiet < 2:
            assert time.monotonic() < deadline, "jobs did not settle"
            moved = await self.state.jobs.relay.relay_once()
            busy = bool(self.queue._tasks)
            if busy:
                await asyncio.gather(*list(self.queue._tasks.values()), return_exceptions=True)
            quiet = 0 if moved or busy else quiet + 1
            await asyncio.sleep(0.01)

    async def run(self, name: str, **kwargs: Any) -> Any:
        from sharestack.jobs import registry

        return await registry.call(self.state, name, kwargs)


@asynccontextmanager
async def inline_jobs(app: FastAPI) -> AsyncIterator[InlineJobs]:
    state = app_state(app)
    relay = state.jobs.relay
    original = relay.queue
    inline = InProcessJobQueue(state)
    relay.queue = inline
    try:
        yield InlineJobs(state, inline)
    finally:
        relay.queue = original
        await inline.close()


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(12)}


async def make_plan(client: httpx.AsyncClient, creator: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": "会员 Member", "price_amount": 1200, "interval": "month"} | fields
    r = await client.post("/api/v1/plans", json=body, headers=creator.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def checkout(
    client: httpx.AsyncClient,
    reader: Account,
    plan_id: int,
    provider: str = "sandbox",
    **extra: Any,
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/checkouts",
        json={"plan_id": plan_id, "provider": provider} | extra,
        headers=reader.headers | key(),
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def sandbox_pay(
    client: httpx.AsyncClient, reader: Account, payment_id: int, outcome: str = "succeed"
) -> None:
    r = await client.post(
        f"/api/v1/sandbox/payments/{payment_id}/pay",
        json={"outcome": outcome},
        headers=reader.headers,
    )
    assert r.status_code == 202, r.text


async def scalar(app: FastAPI, sql: str, **params: Any) -> Any:
    async with app_state(app).db.write_engine.connect() as conn:
        return (await conn.execute(sa.text(sql), params)).scalar()


async def execute(app: FastAPI, sql: str, **params: Any) -> None:
    async with app_state(app).db.write_engine.begin() as conn:
        await conn.execute(sa.text(sql), params)
