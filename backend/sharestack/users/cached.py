"""Cached public profiles (cache-aside, see ``sharestack.cache.aside``): filled as
``sharestack.cache.fill`` says, dropped by ``users.service.update_profile``."""

from __future__ import annotations

from pydantic_core import to_json
from starlette.requests import Request
from starlette.responses import Response

from sharestack.cache import keys
from sharestack.cache.aside import CacheAside
from sharestack.cache.fill import fill_session
from sharestack.errors import NotFound
from sharestack.users import service


async def public_profile(request: Request, user_id: int) -> Response:
    cache: CacheAside = request.app.state.cache

    async def load() -> bytes | None:
        async with fill_session(request.app.state.db, request) as session:
            try:
                return to_json(await service.public_profile(session, user_id))
            except NotFound:
                return None

    body = await cache.get_or_load(keys.profile(cache.prefix, user_id), load)
    if body is None:
        raise NotFound("User not found.")
    return Response(body, media_type="application/json")
