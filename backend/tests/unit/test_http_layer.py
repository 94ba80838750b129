"""The HTTP layer without I/O: error shape, request ids, body limits."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import sqlalchemy.exc
from fastapi import FastAPI
from pydantic import BaseModel, Field

from sharestack.errors import NotFound, install_error_handlers
from sharestack.logging import JsonFormatter, request_id_var
from sharestack.middleware import BodyLimitMiddleware, RequestContextMiddleware


class Item(BaseModel):
    name: str = Field(max_length=5)


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/items")
    async def create(item: Item) -> dict[str, str]:
        return {"name": item.name}

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("No such thing.")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    @app.get("/deadlock")
    async def deadlock() -> None:
        raise sqlalchemy.exc.OperationalError("COMMIT", {}, Exception(1213, "Deadlock found"))

    app.add_middleware(BodyLimitMiddleware, max_bytes=2048)
    app.add_middleware(RequestContextMiddleware)
    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    # raise_app_exceptions=True: an error must end in a response, never escape to the server
    # (which would drop the connection and make nginx count an upstream failure).
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=True)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_validation_error_names_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/items", json={"name": "toolong"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {"name": "String should have at most 5 characters"}


async def test_app_error_and_unknown_route_and_bug(client: httpx.AsyncClient) -> None:
    r = await client.get("/missing")
    assert r.json() == {"error": {"code": "not_found", "message": "No such thing."}}
    r = await client.get("/nowhere")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    r = await client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {
        "error": {"code": "internal_error", "message": "Something went wrong on our side."}
    }


async def test_transient_database_errors_ask_for_a_retry(client: httpx.AsyncClient) -> None:
    r = await client.get("/deadlock")
    assert (r.status_code, r.headers["retry-after"]) == (503, "1")
    assert r.json()["error"]["code"] == "service_unavailable"


async def test_body_limit_declared_and_streamed(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/items", content=b"x" * 5000, headers={"content-type": "application/json"}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 1000

    r = await client.post("/items", content=chunks(), headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")


async def test_request_id_header(client: httpx.AsyncClient) -> None:
    r = await client.get("/missing", headers={"x-request-id": "abc-1"})
    assert r.headers["x-request-id"] == "abc-1"


def test_json_log_line_carries_request_id() -> None:
    token = request_id_var.set("rid-7")
    try:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s", ("世界",), None)
        record.status = 200
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert (line["message"], line["request_id"], line["status"]) == ("hello 世界", "rid-7", 200)
