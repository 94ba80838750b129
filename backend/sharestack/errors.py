"""One JSON error shape for every error: ``{"error": {"code", "message", "fields"?}}``.

Domain code raises :class:`AppError` subclasses; the handlers here turn those, FastAPI's validation
errors, Starlette's HTTP errors and anything unexpected into that shape. Client input never
reaches the 500 branch: if it does, that is a bug to fix where the input is parsed.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from sharestack.openapi import errors as openapi_errors
from sharestack.responses import ORJSONResponse

logger = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.fields = fields
        self.headers = headers
        super().__init__(self.message)


class InvalidInput(AppError):
    status_code = 422
    code = "validation_error"
    message = "Some fields are invalid."


class Unauthorized(AppError):
    """401 always says how to authenticate (RFC 9110: ``WWW-Authenticate`` is required)."""

    status_code = 401
    code = "unauthorized"
    message = "Authentication required."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            message, fields=fields, headers={"WWW-Authenticate": "Bearer"} | (headers or {})
        )


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "A dependency is unavailable; try again shortly."


def documented(statuses: dict[int, str]) -> dict[int | str, Any]:
    """``responses=`` for a route: each error status it may answer, with what it means there,
    in the one error shape (``sharestack.openapi.errors`` with per-route descriptions)."""
    return openapi_errors(*statuses, descriptions=statuses)


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> ORJSONResponse:
    return ORJSONResponse(error_body(code, message, fields), status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "tags", 3)`` -> ``"tags.3"``; the location kind (body/query/path) is dropped
    because the field name alone is what a client maps to its form."""
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


async def _app_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.fields, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields: dict[str, str] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return error_response(
                400, "invalid_json", "The request body is not valid JSON.", {"body": err["msg"]}
            )
        fields.setdefault(_field_name(tuple(err.get("loc", ()))), str(err.get("msg", "invalid")))
    return error_response(422, "validation_error", "Some fields are invalid.", fields)


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path. Starlette's 405 names only the methods of
    the first route that matched the path, so ``OPTIONS /api/v1/me`` said ``Allow: GET`` although
    ``PATCH`` is there too (RFC 9110: Allow lists the resource's methods)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(route.methods or ())
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return error_response(exc.status_code, code, message, headers=headers or None)


async def _unavailable(_: Request, exc: Exception) -> Response:
    """A transient failure of a dependency is the client's cue to retry shortly, not a bug: 503
    with ``Retry-After``. For the database: a deadlock victim, a lock wait timeout, a lost
    connection, no pooled connection free (the transaction was rolled back, so nothing was
    half-written). For Redis: still unreachable after the client retried for
    REDIS_RETRY_BUDGET_SECONDS (sessions, limits, queue; the cache falls through to the database
    and never raises): a failover that takes longer than that is an outage."""
    logger.warning("dependency unavailable", extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
    return error_response(
        503, ServiceUnavailable.code, ServiceUnavailable.message, headers={"Retry-After": "1"}
    )


async def _unexpected(_: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for unavailable in (
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.TimeoutError,
        RedisConnectionError,
        RedisTimeoutError,
    ):
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
