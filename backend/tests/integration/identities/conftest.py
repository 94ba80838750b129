"""Fixtures for phone, WeChat and linked-identity tests: each test calls from an address of its
own (the per-IP send limit is per address), codes are read from the console SMS provider after
the outbox jobs ran (``inline_jobs``)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from sharestack.dependencies import app_state
from sharestack.sms.console import ConsoleSms
from tests.integration.billing import InlineJobs, inline_jobs


def new_number() -> str:
    """A fresh, valid mainland mobile number (China Mobile's 139 block) in E.164."""
    return f"+86139{secrets.randbelow(10**8):08d}"


def random_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


@dataclass
class Phones:
    client: httpx.AsyncClient
    jobs: InlineJobs
    console: ConsoleSms

    async def send(self, number: str) -> str:
        r = await self.client.post("/api/v1/auth/phone/code", json={"phone": number})
        assert r.status_code == 202, r.text
        await self.jobs.settle()
        codes = await self.console.sent(number)
        assert codes, "the console provider got no code"
        return codes[-1]

    async def login(self, number: str) -> httpx.Response:
        code = await self.send(number)
        r = await self.client.post("/api/v1/auth/phone/login", json={"phone": number, "code": code})
        self.client.cookies.clear()
        return r


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def phones(app: FastAPI, clean_tables: None) -> AsyncIterator[Phones]:
    state = app_state(app)
    assert isinstance(state.sms, ConsoleSms), "tests run with SMS_PROVIDER=console"
    transport = httpx.ASGITransport(app=app, client=(random_ip(), 40000))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        inline_jobs(app) as jobs,
    ):
        yield Phones(http, jobs, state.sms)
