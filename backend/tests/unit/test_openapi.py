"""The OpenAPI document tells the truth, as far as its structure can say it: every operation lists
the errors its shape implies, in the one error shape, and every reference resolves. What the
responses actually are is checked against it by the fuzzer (``make fuzz``). No I/O: the app is
built but never started; the docs pages need no lifespan."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.main import create_app

ERROR_REF = "#/components/schemas/ErrorBody"
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(_env_file=None))


@pytest.fixture(scope="module")
def schema(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(schema: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = schema
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_every_ref_resolves(schema: dict[str, Any]) -> None:
    found = set(refs(schema))
    assert ERROR_REF in found
    for ref in found:
        resolve(schema, ref)


def test_fastapi_validation_schema_is_replaced(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert "ValidationError" not in components
    detail = components["ErrorDetail"]
    assert detail["required"] == ["code", "message"]
    assert set(detail["properties"]) == {"code", "message", "fields"}


def test_security_schemes_let_docs_authorise(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == schemes["bearerAuth"] | {"type": "http", "scheme": "bearer"}
    assert schemes["cookieAuth"] | {"in": "cookie", "name": "ss_session"} == schemes["cookieAuth"]


def test_every_error_response_uses_the_error_shape(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) < 400 or path == "/readyz":
                continue
            content = response["content"]["application/json"]["schema"]
            assert content == {"$ref": ERROR_REF}, (method, path, status)


def test_operations_document_what_their_shape_implies(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        statuses = set(operation["responses"])
        where = (method, path)
        if path.startswith("/api/v1/") and not path.startswith("/api/v1/webhooks/"):
            # Every /api/v1 route is rate limited and resolves its caller in Redis (provider
            # notifications excepted: they are answered in the provider's format, unlimited).
            assert {"429", "503"} <= statuses, where
            assert operation["responses"]["429"]["headers"]["Retry-After"]["required"], where
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in statuses, where
        if "requestBody" in operation:
            assert {"400", "413"} <= statuses, where
        if "security" in operation and {} not in operation["security"]:
            assert "401" in statuses, where
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"], where
        success = [s for s in statuses if s.startswith("2")]
        assert len(success) == 1, where


def test_signed_in_only_operations_require_credentials(schema: dict[str, Any]) -> None:
    required = [{"bearerAuth": []}, {"cookieAuth": []}]
    assert schema["paths"]["/api/v1/me"]["get"]["security"] == required
    assert schema["paths"]["/api/v1/contents"]["post"]["security"] == required
    assert {} in schema["paths"]["/api/v1/contents/{content_id}"]["get"]["security"]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_content_writes_document_precondition_and_pages_their_cursor(
    schema: dict[str, Any],
) -> None:
    item = schema["paths"]["/api/v1/contents/{content_id}"]
    for operation in (item["patch"], item["delete"]):
        assert "412" in operation["responses"]
    for action in ("publish", "unpublish"):
        assert (
            "412"
            in schema["paths"][f"/api/v1/contents/{{content_id}}/{action}"]["post"]["responses"]
        )
    for path in ("/api/v1/me/contents", "/api/v1/creators/{user_id}/contents"):
        assert "invalid_cursor" in schema["paths"][path]["get"]["responses"]["422"]["description"]


def test_readiness_documents_its_own_503(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/readyz"]["get"]["responses"]
    assert responses["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Readiness"
    }


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_are_served_offline(app: FastAPI, page: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get(page)
        assert r.status_code == 200
        assert "text/html" in r.headers["content-type"]
        urls = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", r.text)
        urls += re.findall(r"""url: ?["']([^"']+)["']""", r.text)
        assert urls, r.text
        assert not [u for u in urls if "//" in u], "the docs load something from elsewhere"
        scripts = [u for u in urls if u.endswith(".js")]
        assert scripts
        for url in urls:
            asset = await client.get(url)
            assert asset.status_code == 200, url
        assert (await client.get("/openapi.json")).status_code == 200
