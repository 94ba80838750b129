"""SQL statements per media request: constant, whatever the number of media involved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.dependencies import app_state
from tests.integration.helpers import published, signup
from tests.integration.media.test_uploads import stored_files, upload, uploaded
from tests.support import images

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _empty_media_root(app: FastAPI) -> None:
    for path in stored_files(app):
        path.unlink()


async def statements(app: FastAPI, call: Callable[[], Awaitable[httpx.Response]]) -> int:
    count = 0

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal count
        if "job_outbox" not in statement:  # the relay's own polls are not the request's
            count += 1

    engine = app_state(app).db.write_engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        r = await call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert r.status_code < 300, r.text
    return count


async def test_statements_per_request(client: httpx.AsyncClient, app: FastAPI) -> None:
    owner = await signup(client, "counted")
    first = await statements(app, lambda: upload(client, owner, images.encoded("PNG", (10, 10))))
    second = await statements(app, lambda: upload(client, owner, images.encoded("PNG", (11, 10))))
    again = await statements(app, lambda: upload(client, owner, images.encoded("PNG", (11, 10))))
    print(f"\nstatements: first upload {first}, next {second}, same file again {again}")
    assert second <= first
    assert second <= 12
    assert again < second  # a known file stops at the dedupe lookup

    item = await published(client, owner)
    one_id = [(await uploaded(client, owner, images.encoded("PNG", (40, 12))))["id"]]
    many = [
        (await uploaded(client, owner, images.encoded("PNG", (50 + i, 12))))["id"]
        for i in range(10)
    ]

    async def put(ids: list[int]) -> httpx.Response:
        return await client.put(
            f"/api/v1/contents/{item['id']}/media", json={"media_ids": ids}, headers=owner.headers
        )

    async def get() -> httpx.Response:
        return await client.get(f"/api/v1/contents/{item['id']}/media", headers=owner.headers)

    put_one = await statements(app, lambda: put(one_id))
    get_one = await statements(app, get)
    put_many = await statements(app, lambda: put(many))
    get_many = await statements(app, get)
    print(f"content media: put {put_one}/{put_many}, get {get_one}/{get_many} (1/10 media)")
    assert put_many == put_one
    assert get_many == get_one
    read = await statements(app, lambda: client.get(f"/api/v1/media/{many[0]}"))
    file = await statements(app, lambda: client.get(f"/api/v1/media/{many[0]}/file"))
    print(f"media read {read}, file {file}")
    assert read <= 4
    assert file <= 4
