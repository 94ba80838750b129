"""Read-your-writes: after a caller commits a write, their reads see it.

The caller is keyed by a small signed token, set on the response of any request whose
WriteSession committed a change: as a cookie (``ss_ryw``) for browsers, and in the
``X-Read-After`` header for API clients that do not keep cookies (bearer tokens), which send it
back in the same header. It works for anonymous and signed-in callers alike and needs no
server-side state. Two modes (``DB_READ_YOUR_WRITES``):

``gtid`` (default)
    The cookie carries the primary's GTID position read right after the COMMIT. A later read
    picks a healthy replica and waits there (``MASTER_GTID_WAIT`` / ``WAIT_FOR_EXECUTED_GTID_SET``)
    at most ``DB_GTID_WAIT_TIMEOUT`` seconds; on timeout the read goes to the primary. Exact, and
    cheap: a replica that is already past the position answers at once (~0.1-0.2 ms), so the
    writer keeps reading from replicas; only a lagging replica costs the timeout.
``sticky``
    For ``DB_STICKY_SECONDS`` (default 2 s) after a write, the caller's reads go to the primary.
    No query at all, but it moves every writer's reads to the primary for the whole window, and a
    replica lagging longer than the window serves stale data to the writer.
``off``
    Reads after writes may be stale (WriteSession is still always the primary).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharestack.db.routing import PRIMARY

COOKIE = "ss_ryw"
HEADER = "x-read-after"
# In gtid mode the token outlives the sticky window: checking it costs one fast query, and it
# keeps protecting the writer however long the replica lags.
GTID_TOKEN_SECONDS = 60.0


@dataclass(frozen=True)
class Token:
    expires_at: float
    gtid: str


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]


def encode_token(key: bytes, token: Token) -> str:
    gtid = base64.urlsafe_b64encode(token.gtid.encode()).decode().rstrip("=")
    payload = f"{token.expires_at:.3f}.{gtid}"
    return f"{payload}.{_sign(key, payload)}"


def decode_token(key: bytes, raw: str | None, now: float | None = None) -> Token | None:
    """The caller's token if it is genuine and unexpired; anything else counts as no token."""
    if not raw or raw.count(".") != 3:
        return None
    payload, signature = raw.rsplit(".", 1)
    if not hmac.compare_digest(_sign(key, payload), signature):
        return None
    try:
        whole, frac, gtid = payload.split(".", 2)
        expires_at = float(f"{whole}.{frac}")
        decoded = base64.urlsafe_b64decode(gtid + "=" * (-len(gtid) % 4)).decode()
    except ValueError:
        return None
    if expires_at < (now if now is not None else time.time()):
        return None
    return Token(expires_at, decoded)


class ReadYourWrites:
    """Turns a committed write's position into the caller's token, and a caller's token back
    into the position their reads must have seen (``sharestack.db.routing``)."""

    def __init__(self, mode: str, sticky_seconds: float, secret: str) -> None:
        self.mode, self.sticky_seconds = mode, sticky_seconds
        self.key = hashlib.sha256(b"sharestack-ryw:" + secret.encode()).digest()

    def position(self, connection: HTTPConnection) -> str | None:
        """What this caller's reads must have seen: None (anything), PRIMARY or a GTID."""
        if self.mode == "off":
            return None
        raw = connection.headers.get(HEADER) or connection.cookies.get(COOKIE)
        token = decode_token(self.key, raw)
        if token is None:
            return None
        if self.mode == "sticky" or not token.gtid:
            return PRIMARY
        return token.gtid

    def token_after_commit(self, position: str | None) -> tuple[str, float] | None:
        """(token, expiry) for the writer of a commit at ``position``; None when there is
        nothing to protect (no replicas: the position is None) or the mode is off."""
        if self.mode == "off" or position is None:
            return None
        if self.mode == "sticky":
            token = Token(time.time() + self.sticky_seconds, "")
        else:
            token = Token(time.time() + GTID_TOKEN_SECONDS, "" if position == PRIMARY else position)
        return encode_token(self.key, token), token.expires_at


class ReadYourWritesMiddleware:
    """Sets the read-your-writes cookie (and ``X-Read-After``) the write dependency left in the
    request state."""

    def __init__(self, app: ASGIApp, cookie_secure: bool) -> None:
        self.app, self.cookie_secure = app, cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = state.get("ryw_cookie")  # left by the write dependency
                if cookie is not None:
                    value, expires_at = cookie
                    max_age = max(1, int(expires_at - time.time()))
                    attrs = f"{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax"
                    if self.cookie_secure:
                        attrs += "; Secure"
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", attrs.encode()))
                    headers.append((HEADER.encode(), value.encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)
