"""The fast lane for the hottest request: an anonymous read of a published item that the
in-process L1 (``sharestack.cache.local``) holds.

Such a read needs no database, no Redis and no caller: the answer is the L1's bytes. Routing it
through FastAPI (route matching over every route, dependency resolution, the exception layers)
costs several times the work of the answer itself, so this ASGI layer, just inside the
application's middleware, answers it directly and hands everything else to the router untouched.

It answers only when the routed path would give the same answer without any I/O:
- ``GET /api/v1/contents/slug/{slug}`` or ``GET /api/v1/contents/{id}`` with a path parameter the
  route would accept;
- no credential (``Authorization`` or the session cookie) and no read-your-writes cookie: the
  L1 serves anonymous callers with no recent write only (``dependencies._cached_reads``);
- the L1 holds the item as published and may answer (``CacheAside.local_payload``: not while
  the L1 is suspended or the cache is unavailable; a "not found" entry goes the routed way,
  which answers the 404 in the one error shape);
- the caller's rate limit has a cell left in this process's lease (``RateLimiter.spend_local``);
  when it has none, the routed path asks Redis for a new lease, or answers 429.

What it sends is what the route sends: the same bytes (the withheld rendering of a
subscribers-only item, since the caller is anonymous), the same ``ETag`` and content type; the
middleware outside it adds the request id, the security headers and the access log line as for
any request. A test compares both answers header by header.
"""

from __future__ import annotations

from types import SimpleNamespace

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from sharestack.cache import keys
from sharestack.content.cached import PAYLOAD_VERSION, CachedItem
from sharestack.db.consistency import COOKIE as RYW_COOKIE
from sharestack.dependencies import app_state
from sharestack.metrics.registry import CACHE_HITS, FAST_LANE_ANSWERS
from sharestack.state import AppState
from sharestack.text import canonical_slug

_BY_SLUG = "/api/v1/contents/slug/"
_BY_ID = "/api/v1/contents/"
_MAX_SLUG = 120  # the route's Path(max_length=120)
_MAX_ID = 2**63 - 1
# The routed handlers' names, for the latency histogram's label (metrics.middleware).
_SLUG_ROUTE = SimpleNamespace(name="read_content_by_slug")
_ID_ROUTE = SimpleNamespace(name="read_content")


class FastLane:
    def __init__(self, app: ASGIApp, session_cookie_name: str) -> None:
        self.app = app
        self.private_cookies = (session_cookie_name, RYW_COOKIE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            answered = await self._answer(scope, send)
            if answered:
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send) -> bool:
        path: str = scope["path"]
        if not path.startswith(_BY_ID):
            return False
        state = _state(scope)
        if state is None:
            return False
        if path.startswith(_BY_SLUG):
            slug = path[len(_BY_SLUG) :]
            if not slug or len(slug) > _MAX_SLUG or "/" in slug:
                return False
            key = keys.content_by_slug(state.cache.prefix, canonical_slug(slug), PAYLOAD_VERSION)
            route = _SLUG_ROUTE
        else:
            raw = path[len(_BY_ID) :]
            if not raw.isascii() or not raw.isdigit() or raw[0] == "0" or len(raw) > 19:
                return False
            content_id = int(raw)
            if content_id > _MAX_ID:
                return False
            key = keys.content_by_id(state.cache.prefix, content_id, PAYLOAD_VERSION)
            route = _ID_ROUTE
        if not self._anonymous(scope):
            return False
        payload = state.cache.local_payload(key)
        if payload is None:
            return False
        limiter = state.ratelimiter
        if limiter is not None and not limiter.spend_local("ip", _client_ip(scope)):
            return False
        served = CachedItem.decode(payload).served_to(None, has_access=False)
        CACHE_HITS.labels(key.family).inc()
        FAST_LANE_ANSWERS.inc()
        scope["route"] = route
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(served.body)).encode()),
                    (b"content-type", b"application/json"),
                    (b"etag", served.etag.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": served.body})
        return True

    def _anonymous(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return False
            if name == b"cookie":
                # Parsed as Starlette parses it for the routed path (``connection.cookies``).
                cookies = cookie_parser(value.decode("latin-1"))
                if any(c in cookies for c in self.private_cookies):
                    return False
        return True


def _state(scope: Scope) -> AppState | None:
    app = scope.get("app")
    if app is None or not hasattr(app.state, "sharestack"):
        return None  # before the lifespan has built the state
    return app_state(app)


def _client_ip(scope: Scope) -> str:
    # The same identity as callers.limits._client_ip: the address uvicorn reports.
    client = scope.get("client")
    return client[0] if client else "unknown"
