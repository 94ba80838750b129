"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and costs on the hot path).

RequestContextMiddleware: takes ``X-Request-ID`` from the proxy or makes one, puts it in the log
context, returns it, and writes one JSON access line per request.
BodyLimitMiddleware: refuses bodies above ``MAX_BODY_BYTES`` with 413 before they are parsed,
whether the client declared a Content-Length or streams chunks.
SecurityHeadersMiddleware: the headers every response carries, and ``Cache-Control: no-store`` on
the private ones.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharestack.errors import error_body
from sharestack.logging import request_id_var

access_logger = logging.getLogger("sharestack.access")
logger = logging.getLogger(__name__)

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # A bug, not client input. Answer 500 in the one error shape here, and do not
            # re-raise: Starlette's outermost handler would send its response and re-raise, the
            # server would then drop the keep-alive connection, and nginx would count an
            # upstream failure and take a healthy instance out of rotation.
            logger.exception("unhandled error")
            if not responded:
                body = error_body("internal_error", "Something went wrong on our side.")
                await send_json(send_with_id, 500, body)
        finally:
            access_logger.info(
                "request",
                extra={
                    "event": "request",
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            request_id_var.reset(token)


SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    # A JSON answer is never to be sniffed into HTML or script.
    (b"x-content-type-options", b"nosniff"),
    # API URLs carry ids and cursors; nothing links out from JSON, and the docs fetch same-origin.
    (b"referrer-policy", b"no-referrer"),
    # Nothing here is meant to be framed (clickjacking of /docs): the old header and the CSP one.
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
]
NO_STORE = (b"cache-control", b"no-store")
# Routes whose answer is a secret or private data even to a caller without credentials.
_PRIVATE_PREFIXES = ("/api/v1/auth/",)


class SecurityHeadersMiddleware:
    """Outermost, so that it also covers the 413 and 500 answered by the middleware inside it.

    The rule for ``Cache-Control: no-store`` (no browser or proxy keeps a copy): a response to a
    request that carried credentials (``Authorization`` or the session cookie), a response that
    sets a cookie, and anything under ``/api/v1/auth/`` (log-in returns the token, register the
    account). It replaces a ``Cache-Control`` the route set: private wins. Other responses (public
    reads by anonymous callers) keep whatever caching their route chose.
    """

    def __init__(self, app: ASGIApp, session_cookie_name: str) -> None:
        self.app = app
        self.cookie_prefix = f"{session_cookie_name}=".encode()

    def _carries_credentials(self, scope: Scope) -> bool:
        for key, value in scope["headers"]:
            if key == b"authorization":
                return True
            if key == b"cookie" and any(
                part.strip().startswith(self.cookie_prefix) for part in value.split(b";")
            ):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = self._carries_credentials(scope) or scope["path"].startswith(_PRIVATE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {key.lower() for key, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if private or b"set-cookie" in names:
                    headers = [h for h in headers if h[0].lower() != NO_STORE[0]]
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """``max_bytes`` for every route but those in ``route_limits`` (exact ``(method, path)``
    pairs): the upload routes take files, every JSON route keeps the small limit. nginx's
    ``client_max_body_size`` is set per location the same way."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        route_limits: dict[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.route_limits = route_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.route_limits.get(
            (scope["method"], scope["path"].rstrip("/") or "/"), self.default_max_bytes
        )
        await self._limited(scope, receive, send, max_bytes)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await _send_413(send, max_bytes)
            return
        received = 0
        too_large = False
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Frameworks turn a failing body read into their own 400; once the limit has been
            # crossed, the client gets the 413 that says what happened instead.
            nonlocal answered
            if too_large:
                if not answered and message["type"] == "http.response.start":
                    answered = True
                    await _send_413(send, max_bytes)
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not answered:
                await _send_413(send, max_bytes)


async def send_json(
    send: Send,
    status: int,
    content: dict[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = orjson.dumps(content)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_413(send: Send, max_bytes: int) -> None:
    message = f"The request body exceeds {max_bytes} bytes."
    await send_json(send, 413, error_body("payload_too_large", message))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
