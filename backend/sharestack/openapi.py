"""The OpenAPI document, kept true by construction.

Two sources, one rule each:

- What a route's *shape* implies is derived here from the route itself, so a new route cannot
  forget it: 422 when it takes parameters or a body (our error shape, not FastAPI's
  ``HTTPValidationError``), 400 ``invalid_json`` and 413 when it takes a JSON body, 401 and the
  security requirement when it depends on the caller (bearer token or session cookie).
- What a route's *logic* implies (403, 404, 409, 412, ...) is declared on its decorator with
  :func:`errors`; what a router guarantees for all its routes (429 and 503 under ``/api/v1``) on
  the router.

``tests/unit/test_openapi.py`` walks the generated document and fails when an operation lacks
what its shape implies or a ``$ref`` dangles; the fuzzer (``make fuzz``) fails when a response is
not what the document promises.

Infrastructure: no domain imported. The caller dependencies are passed in by ``main``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse

REF = "#/components/schemas/"
BEARER = "bearerAuth"
COOKIE = "cookieAuth"


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `content_not_found`.")
    message: str = Field(description="Human-readable; may change between releases.")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Per-field problems (`tags.3`: what is wrong); present only when there are.",
    )


class ErrorBody(BaseModel):
    """Every error the API answers, whatever its status (``sharestack.errors``)."""

    error: ErrorDetail


_RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 0},
}

DESCRIPTIONS: dict[int, str] = {
    400: "`invalid_json`: the body is not valid JSON.",
    401: "`unauthorized` / `invalid_credentials`: no valid session token or cookie.",
    403: "`forbidden`: the caller may not do this (e.g. `not_author`).",
    404: "`not_found`: no such resource, or not visible to this caller.",
    409: "`conflict`: the request conflicts with the current state (e.g. `email_taken`).",
    412: "`precondition_failed`: `If-Match` does not match the current version.",
    413: "`payload_too_large`: the body exceeds `MAX_BODY_BYTES`.",
    415: "`unsupported_media_type`: the body's type or format is not accepted.",
    422: "`validation_error`: a parameter or body field is invalid (`fields` names it).",
    429: "`rate_limited`: too many requests; `Retry-After` says when to retry.",
    502: "`wechat_unavailable`: an upstream provider could not be reached or refused us; retry.",
    503: (
        "`service_unavailable`: the database or Redis is unavailable; `overloaded`: the server "
        "is busy (a full queue); retry shortly, after `Retry-After` where given."
    ),
}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "`Bearer`: how to authenticate.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {"Retry-After": _RETRY_AFTER | {"required": True}},
    503: {"Retry-After": _RETRY_AFTER},
}

INVALID_CURSOR = (
    "`validation_error` (`fields.cursor`: an invalid cursor, `invalid_cursor`) or another "
    "invalid parameter."
)


def errors(*statuses: int, descriptions: Mapping[int, str] | None = None) -> dict[int | str, Any]:
    """``responses=`` for a route decorator or router: each status in the one error shape.

    ``descriptions`` overrides the standard text for a status, e.g. ``{422: INVALID_CURSOR}``.
    """
    notes = dict(descriptions or {})
    out: dict[int | str, Any] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "model": ErrorBody,
            "description": notes.get(status) or DESCRIPTIONS[status],
        }
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        out[status] = entry
    return out


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    """The route's dependant and every dependency below it (router-level ones included)."""
    yield dependant
    for dep in dependant.dependencies:
        yield from _tree(dep)


def _error_response(status: int, description: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": f"{REF}ErrorBody"}}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _ensure(responses: dict[str, Any], status: int) -> None:
    """Add ``status`` in our error shape; a decorator's own description is kept."""
    existing = responses.get(str(status))
    description = None
    if existing and not _is_fastapi_validation(existing):
        description = existing.get("description")
    responses[str(status)] = _error_response(status, description)


def _is_fastapi_validation(response: Mapping[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == f"{REF}HTTPValidationError")


def build_openapi(
    app: FastAPI,
    *,
    required_caller: Callable[..., Any],
    optional_caller: Callable[..., Any],
    cookie_name: str,
) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # Present even if no decorator names a status (the derived ones below refer to it).
    error_schema = ErrorBody.model_json_schema(ref_template=REF + "{model}", mode="serialization")
    for name, definition in error_schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault("ErrorBody", error_schema)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "The `token` from `POST /api/v1/auth/login`.",
        },
        COOKIE: {
            "type": "apiKey",
            "in": "cookie",
            "name": cookie_name,
            "description": "The session cookie `POST /api/v1/auth/login` sets (browsers).",
        },
    }
    # Route contexts, not app.routes: included routers are resolved lazily, and a context
    # carries the dependencies and responses its routers add.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        tree = list(_tree(route.dependant))
        calls = {d.call for d in tree if d.call is not None}
        has_params = any(
            d.path_params or d.query_params or d.header_params or d.cookie_params for d in tree
        )
        has_body = any(d.body_params for d in tree)
        path_item = schema["paths"][route.path_format]
        for method in route.methods or ():
            operation = path_item[method.lower()]
            responses = operation["responses"]
            if has_params or has_body:
                _ensure(responses, 422)
            if has_body:
                _ensure(responses, 400)
                _ensure(responses, 413)
            if required_caller in calls:
                operation["security"] = [{BEARER: []}, {COOKIE: []}]
                _ensure(responses, 401)
            elif optional_caller in calls:
                # Anonymous is fine; a signed-in caller may see more (drafts, bodies).
                operation["security"] = [{}, {BEARER: []}, {COOKIE: []}]
            for status, response in list(responses.items()):
                if _is_fastapi_validation(response):
                    _ensure(responses, int(status))
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return schema


def install_openapi(
    app: FastAPI,
    *,
    required_caller: Callable[..., Any],
    optional_caller: Callable[..., Any],
    cookie_name: str,
) -> None:
    """Replace ``app.openapi`` with :func:`build_openapi` (generated once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(
                app,
                required_caller=required_caller,
                optional_caller=optional_caller,
                cookie_name=cookie_name,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


DOCS_ASSETS = "/docs/assets"
_ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"


def install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` and ReDoc at ``/redoc``, with their scripts and styles served by
    the API itself from the ``fastapi-offline`` package: the docs work without internet access
    and load nothing from a CDN. Create the app with ``docs_url=None, redoc_url=None``."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            # Keep the token entered under "Authorize" across reloads of the page; no online
            # validator badge (it would call validator.swagger.io).
            swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
