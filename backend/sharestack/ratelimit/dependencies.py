"""FastAPI dependencies that apply the limits from configuration.

``api_rate_limit`` guards every /api/v1 route: per user when the caller is signed in, per client
IP otherwise (the IP uvicorn reports, which is the real client's when the proxy is listed in
FORWARDED_ALLOW_IPS). ``auth_rate_limit`` adds the stricter limit for login, register and
password routes, per IP, whoever is signed in. Over the limit: 429 with Retry-After.

If the rate-limit Redis cannot be reached (after retrying through a failover, like the session
store), general API requests are let through and counted (``sharestack_ratelimit_errors_total``):
an outage of the limiter must not become an outage of the API. Login, register and password
attempts are refused with 503 instead: letting them through unlimited is exactly the hole a
password-guessing burst looks for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from redis.exceptions import RedisError

from sharestack.auth.dependencies import optional_session
from sharestack.auth.sessions import SessionInfo
from sharestack.config import Settings
from sharestack.errors import AppError, ServiceUnavailable
from sharestack.metrics.registry import RATELIMIT_ERRORS, RATELIMIT_REJECTED
from sharestack.ratelimit.limiter import Limit, RateLimiter

logger = logging.getLogger(__name__)


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests; retry later."


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _check(
    request: Request, scope: str, identity: str, limit: Limit, fail_closed: bool = False
) -> None:
    limiter: RateLimiter | None = getattr(request.app.state, "ratelimiter", None)
    if limiter is None:
        return
    try:
        decision = await limiter.hit(scope, identity, limit)
    except (RedisError, OSError):
        RATELIMIT_ERRORS.inc()
        logger.warning("rate limit check failed (fail_closed=%s)", fail_closed, exc_info=True)
        if fail_closed:
            raise ServiceUnavailable() from None
        return
    if not decision.allowed:
        RATELIMIT_REJECTED.labels(scope).inc()
        raise RateLimited(headers={"Retry-After": str(decision.retry_after_seconds)})


async def api_rate_limit(
    request: Request, caller: Annotated[SessionInfo | None, Depends(optional_session)]
) -> None:
    limits = request.app.state.rate_limits
    if caller is not None:
        await _check(request, "user", str(caller.user_id), limits.authenticated)
    else:
        await _check(request, "ip", _client_ip(request), limits.anonymous)


async def auth_rate_limit(request: Request) -> None:
    limit = request.app.state.rate_limits.auth
    await _check(request, "auth", _client_ip(request), limit, fail_closed=True)


AuthRateLimit = Depends(auth_rate_limit)


@dataclass(frozen=True)
class RateLimits:
    anonymous: Limit
    authenticated: Limit
    auth: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            anonymous=Limit.parse(settings.rate_limit_anonymous),
            authenticated=Limit.parse(settings.rate_limit_authenticated),
            auth=Limit.parse(settings.rate_limit_auth),
        )
