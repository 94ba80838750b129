"""Who is calling. The token comes as ``Authorization: Bearer`` (API clients) or as the session
cookie (browsers). Resolving it costs one Redis round trip and no database query; ``CurrentUser``
additionally loads the user from the primary (authentication never reads a replica)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sharestack.auth.sessions import SessionInfo, SessionStore
from sharestack.db.session import WriteSessionDep
from sharestack.errors import Unauthorized
from sharestack.users import service as users_service
from sharestack.users.models import User


def get_session_store(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    cookie = request.cookies.get(request.app.state.settings.session_cookie_name)
    return cookie or None


async def optional_session(request: Request) -> SessionInfo | None:
    token = _token_from(request)
    if token is None or len(token) > 256:
        return None
    info = await get_session_store(request).resolve(token)
    if info is not None:
        request.state.user_id = info.user_id
    return info


async def required_session(
    info: Annotated[SessionInfo | None, Depends(optional_session)],
) -> SessionInfo:
    if info is None:
        raise Unauthorized()
    return info


async def current_user(
    info: Annotated[SessionInfo, Depends(required_session)], session: WriteSessionDep
) -> User:
    user = await users_service.get(session, info.user_id)
    if user is None or user.status != "active":
        raise Unauthorized()
    return user


OptionalSession = Annotated[SessionInfo | None, Depends(optional_session)]
CurrentSession = Annotated[SessionInfo, Depends(required_session)]
CurrentUser = Annotated[User, Depends(current_user)]
