"""The HTTP layer without I/O: error shape, request ids, body limits."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import sqlalchemy.exc
from fastapi import FastAPI, Response
from pydantic import BaseModel, Field

from sharestack.errors import NotFound, install_error_handlers
from sharestack.logging import JsonFormatter, request_id_var
from sharestack.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)


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

    @app.get("/public")
    async def public() -> Response:
        return Response(
            b"{}", media_type="application/json", headers={"cache-control": "max-age=60"}
        )

    @app.get("/sets-cookie")
    async def sets_cookie() -> Response:
        response = Response(b"{}", media_type="application/json")
        response.set_cookie("ss_ryw", "x")
        return response

    @app.get("/deadlock")
    async def deadlock() -> None:
        raise sqlalchemy.exc.OperationalError("COMMIT", {}, Exception(1213, "Deadlock found"))

    app.add_middleware(BodyLimitMiddleware, max_bytes=2048)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, session_cookie_name="ss_session")
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


SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
}


def assert_security_headers(r: httpx.Response) -> None:
    assert {k: r.headers.get(k) for k in SECURITY} == SECURITY, r.headers


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    # A handler's answer, an error, a route that does not exist, a 500 and a 413 answered by
    # middleware before any route runs.
    for r in [
        await client.get("/public"),
        await client.get("/missing"),
        await client.get("/nowhere"),
        await client.get("/boom"),
        await client.post("/items", content=b"x" * 5000),
        await client.post("/items", content=b"{", headers={"content-type": "application/json"}),
    ]:
        assert_security_headers(r)


async def test_no_store_when_the_request_carried_credentials(client: httpx.AsyncClient) -> None:
    r = await client.get("/public")
    assert r.headers["cache-control"] == "max-age=60"
    for headers in (
        {"authorization": "Bearer abc"},
        {"cookie": "theme=dark; ss_session=abc"},
    ):
        r = await client.get("/public", headers=headers)
        assert r.headers.get_list("cache-control") == ["no-store"], headers
        r = await client.get("/missing", headers=headers)
        assert r.headers["cache-control"] == "no-store"
    # Another cookie is not a credential; a response setting a cookie is private all the same.
    assert (await client.get("/public", headers={"cookie": "ss_ryw=1"})).headers[
        "cache-control"
    ] == "max-age=60"
    assert (await client.get("/sets-cookie")).headers["cache-control"] == "no-store"


async def test_no_store_on_auth_routes_and_headers_on_the_real_app() -> None:
    from sharestack.config import Settings
    from sharestack.main import create_app

    app = create_app(Settings(_env_file=None, max_body_bytes=1024))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        r = await http.get("/healthz")
        assert r.status_code == 200
        assert_security_headers(r)
        assert "cache-control" not in r.headers
        # The body limit answers before the route (and before any Redis or database access).
        r = await http.post("/api/v1/auth/login", content=b"x" * 2000)
        assert r.status_code == 413
        assert_security_headers(r)
        assert r.headers["cache-control"] == "no-store"
        assert_security_headers(await http.get("/docs"))


def test_unauthorized_says_how_to_authenticate() -> None:
    from sharestack.auth.exceptions import InvalidCredentials
    from sharestack.errors import Unauthorized

    assert Unauthorized().headers == {"WWW-Authenticate": "Bearer"}
    assert InvalidCredentials().headers == {"WWW-Authenticate": "Bearer"}


async def test_405_allows_every_method_of_the_resource() -> None:
    """Found by the fuzzer (allow_header_conformance): ``OPTIONS /api/v1/me`` said ``Allow: GET``,
    though the resource also takes PATCH (two routes, one path)."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/thing")
    async def read() -> None: ...

    @app.patch("/thing")
    async def change() -> None: ...

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        r = await http.options("/thing")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, PATCH"
    assert r.json()["error"]["code"] == "method_not_allowed"
