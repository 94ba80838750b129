"""The caller's own login sessions: list them, end one, end them all.

These live below the domains (they need the caller, never the user row), so they are mounted
from ``api.py`` like a domain router."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from sharestack.callers.dependencies import CurrentCaller, LoginStoreDep
from sharestack.callers.schemas import LogoutAllResult, SessionList, SessionRead
from sharestack.callers.store import LoginSession
from sharestack.dependencies import SettingsDep
from sharestack.errors import NotFound
from sharestack.openapi import errors

router = APIRouter(tags=["sessions"])

# token_urlsafe(12): 16 characters of the URL-safe alphabet.
SessionIdPath = Annotated[str, Path(min_length=16, max_length=16, pattern=r"^[A-Za-z0-9_-]{16}$")]


class SessionNotFound(NotFound):
    code = "session_not_found"
    message = "No such session."


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _read(session: LoginSession, current: LoginSession) -> SessionRead:
    return SessionRead(
        id=session.session_id,
        created_at=_at(session.created_at),
        last_seen_at=_at(session.last_seen_at),
        expires_at=_at(session.expires_at),
        ip=session.ip,
        user_agent=session.user_agent,
        current=session.digest == current.digest,
    )


@router.get("/me/sessions")
async def list_sessions(caller: CurrentCaller, store: LoginStoreDep) -> SessionList:
    return SessionList(items=[_read(s, caller) for s in await store.sessions(caller.user_id)])


@router.delete(
    "/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404)
)
async def end_session(
    session_id: SessionIdPath, caller: CurrentCaller, store: LoginStoreDep
) -> Response:
    # Only the caller's own index is searched: another user's session id is simply not found.
    if not await store.revoke_by_id(caller.user_id, session_id):
        raise SessionNotFound(fields={"session_id": "no such session of yours"})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/logout-all", tags=["auth"])
async def logout_all(
    caller: CurrentCaller, store: LoginStoreDep, settings: SettingsDep, response: Response
) -> LogoutAllResult:
    """End every session of the caller, this one included."""
    ended = await store.revoke_all(caller.user_id)
    response.delete_cookie(settings.session_cookie_name, path="/")
    return LogoutAllResult(ended=ended)
