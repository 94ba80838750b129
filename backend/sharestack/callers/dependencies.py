"""Who is calling. The token comes as ``Authorization: Bearer`` (API clients) or as the session
cookie (browsers). Resolving it costs one Redis round trip and no database query
(``users.dependencies.CurrentUser`` additionally loads the user from the primary).

``OptionalCaller`` / ``CurrentCaller`` are the signed-in caller's login session (``LoginSession``);
not to be confused with the database sessions of ``sharestack.dependencies``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from sharestack.callers.store import LoginSession, LoginStore
from sharestack.dependencies import SettingsDep, StateDep
from sharestack.errors import Unauthorized

MAX_TOKEN_LENGTH = 256


async def get_login_store(state: StateDep) -> LoginStore:
    return LoginStore(state.redis, state.settings)


LoginStoreDep = Annotated[LoginStore, Depends(get_login_store)]


def _token_from(connection: HTTPConnection, cookie_name: str) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return connection.cookies.get(cookie_name) or None


async def optional_caller(
    connection: HTTPConnection, store: LoginStoreDep, settings: SettingsDep
) -> LoginSession | None:
    token = _token_from(connection, settings.session_cookie_name)
    if token is None or len(token) > MAX_TOKEN_LENGTH:
        return None
    return await store.resolve(token)


async def required_caller(
    caller: Annotated[LoginSession | None, Depends(optional_caller)],
) -> LoginSession:
    if caller is None:
        raise Unauthorized()
    return caller


OptionalCaller = Annotated[LoginSession | None, Depends(optional_caller)]
CurrentCaller = Annotated[LoginSession, Depends(required_caller)]
