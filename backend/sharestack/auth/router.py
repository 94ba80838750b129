from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from sharestack.auth import service
from sharestack.auth.dependencies import CurrentSession, get_session_store
from sharestack.auth.schemas import LoginRequest, LoginResponse, RegisterRequest
from sharestack.db.session import WriteSessionDep
from sharestack.ratelimit.dependencies import AuthRateLimit
from sharestack.users.schemas import MeRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, dependencies=[AuthRateLimit])
async def register(body: RegisterRequest, session: WriteSessionDep) -> MeRead:
    user = await service.register(session, body.email, body.password, body.display_name)
    return await MeRead.load(session, user)


@router.post("/login", dependencies=[AuthRateLimit])
async def login(
    body: LoginRequest, request: Request, response: Response, session: WriteSessionDep
) -> LoginResponse:
    user = await service.authenticate(session, body.email, body.password)
    settings = request.app.state.settings
    token = await get_session_store(request).create(user.id)
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return LoginResponse(token=token, user_id=user.id, expires_in=settings.session_ttl_seconds)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(info: CurrentSession, request: Request) -> Response:
    await get_session_store(request).revoke(info.digest)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(request.app.state.settings.session_cookie_name, path="/")
    return response
