"""The API's rate limits as dependencies (``sharestack.ratelimit`` holds the limiter itself).

``api_rate_limit`` guards every /api/v1 route: per user when the caller is signed in, per client
IP otherwise (the IP uvicorn reports, which is the real client's when the proxy is listed in
FORWARDED_ALLOW_IPS). ``AuthRateLimit`` adds the stricter limit for routes that take a secret
(log-in, register, password attempts), per IP, whoever is signed in, and fails closed.
"""

from __future__ import annotations

import logging

from fastapi import Depends
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection, Request

from sharestack.bulkhead import watch_client
from sharestack.callers.dependencies import OptionalCaller
from sharestack.dependencies import StateDep
from sharestack.errors import ServiceUnavailable
from sharestack.metrics.registry import RATELIMIT_ERRORS, RATELIMIT_REJECTED
from sharestack.ratelimit.limiter import Limit, RateLimited, RateLimiter

logger = logging.getLogger(__name__)


async def enforce(
    limiter: RateLimiter | None,
    scope: str,
    identity: str,
    limit: Limit,
    *,
    fail_closed: bool = False,
    leased: bool = False,
) -> None:
    """Count one request; raise :class:`RateLimited` (429 with Retry-After) over the limit.

    If the rate-limit Redis cannot be reached (after retrying through a failover, like the
    session store), the request is let through and counted (``sharestack_ratelimit_errors``): an
    outage of the limiter must not become an outage of the API. With ``fail_closed`` (log-in,
    register, password attempts) it is refused with 503 instead: letting those through unlimited
    is exactly the hole a password-guessing burst looks for."""
    if limiter is None:
        return
    try:
        hit = limiter.hit_leased if leased else limiter.hit
        decision = await hit(scope, identity, limit)
    except (RedisError, OSError):
        RATELIMIT_ERRORS.inc()
        logger.warning("rate limit check failed (fail_closed=%s)", fail_closed, exc_info=True)
        if fail_closed:
            raise ServiceUnavailable() from None
        return
    if not decision.allowed:
        RATELIMIT_REJECTED.labels(scope).inc()
        raise RateLimited(headers={"Retry-After": str(decision.retry_after_seconds)})


def _client_ip(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


async def api_rate_limit(
    connection: HTTPConnection, state: StateDep, caller: OptionalCaller
) -> None:
    limits = state.rate_limits
    if caller is not None:
        user = str(caller.user_id)
        await enforce(state.ratelimiter, "user", user, limits.authenticated, leased=True)
    else:
        ip = _client_ip(connection)
        await enforce(state.ratelimiter, "ip", ip, limits.anonymous, leased=True)


async def auth_rate_limit(connection: HTTPConnection, state: StateDep) -> None:
    if isinstance(connection, Request):
        # These routes hash a password: the bulkhead skips the hash if the client has gone.
        watch_client(connection.is_disconnected)
    limit = state.rate_limits.auth
    await enforce(state.ratelimiter, "auth", _client_ip(connection), limit, fail_closed=True)


AuthRateLimit = Depends(auth_rate_limit)
