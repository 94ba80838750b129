"""The entitlement cache holds one entry per reader for every creator: a reader's reads of
several creators' subscribers-only items cost one query in all, a subscription to one creator
opens exactly that creator's bodies at once, and nobody else's."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.billing import checkout, inline_jobs, make_plan, sandbox_pay
from tests.integration.helpers import published, signup
from tests.support.io_counts import counting

pytestmark = pytest.mark.integration


async def test_one_entry_per_reader_answers_for_every_creator(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    creators = [await signup(client, f"creator{i}") for i in range(3)]
    reader = await signup(client, "reader")
    items = [
        await published(client, c, visibility="subscribers", body=f"付费 {i}")
        for i, c in enumerate(creators)
    ]
    urls = [f"/api/v1/contents/{item['id']}" for item in items]
    for url in urls:  # the items' own entries (an anonymous read needs no entitlement)
        assert (await client.get(url)).json()["body"] is None
    with counting() as counts:
        for url in urls:
            assert (await client.get(url, headers=reader.headers)).json()["body"] is None
    # One query fills the reader's entry; it answers for the other two creators too.
    assert len(counts.statements) == 1, counts.describe()
    assert "subscriptions" in counts.statements[0]

    plan = await make_plan(client, creators[1])
    async with inline_jobs(app) as jobs:
        done = await checkout(client, reader, plan["id"])
        await sandbox_pay(client, reader, done["payment"]["id"])
        await jobs.settle()
    bodies = [(await client.get(url, headers=reader.headers)).json()["body"] for url in urls]
    assert bodies == [None, "付费 1", None]
    # Another reader's entry is theirs alone.
    other = await signup(client, "other")
    assert (await client.get(urls[1], headers=other.headers)).json()["body"] is None
