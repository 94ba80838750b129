"""Redis unavailability as an HTTP answer: 503 with Retry-After, in the project's error shape.

A request reaches this only after its Redis client has retried for REDIS_RETRY_BUDGET_SECONDS
(sessions, limits, queue; the cache falls through to the database and never raises). A failover
that takes longer than that budget is an outage, and the client is told to come back rather than
given a 500 that looks like a bug.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.responses import Response

from sharestack.errors import error_response

logger = logging.getLogger(__name__)


async def _redis_unavailable(_: Request, exc: Exception) -> Response:
    logger.warning("redis unavailable after retries: %r", exc)
    return error_response(
        503,
        "service_unavailable",
        "A dependency is unavailable; try again shortly.",
        headers={"Retry-After": "1"},
    )


def install_redis_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RedisConnectionError, _redis_unavailable)
    app.add_exception_handler(RedisTimeoutError, _redis_unavailable)
