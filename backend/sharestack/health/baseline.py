"""The benchmark's baseline: a route that answers a fixed JSON body from memory.

Mounted only with ``BENCH_ENDPOINTS=true`` (off by default, never in production). It runs in the
same process, behind the same middleware and the same nginx as the real routes, with one path
parameter like the content read it is compared with, so "cached read throughput / baseline
throughput" measures what the cached read's own work costs (session lookup, rate limit, Redis GET)
and nothing else. ``size`` is the byte size the bench measured for a content read.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

router = APIRouter(prefix="/api/v1/bench", tags=["bench"], include_in_schema=False)

MAX_SIZE = 65_536


@lru_cache(maxsize=8)
def _body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (``{"padding":"xxx…"}``)."""
    overhead = len(b'{"padding":""}')
    return b'{"padding":"' + b"x" * max(size - overhead, 0) + b'"}'


@router.get("/baseline/{size}")
async def baseline(size: Annotated[int, Path(ge=16, le=MAX_SIZE)]) -> Response:
    return Response(_body(size), media_type="application/json")
