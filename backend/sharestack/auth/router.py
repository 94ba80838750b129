from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from sharestack.auth import service
from sharestack.auth.dependencies import HashingAdmission
from sharestack.auth.schemas import LoginRequest, LoginResponse, RegisterRequest
from sharestack.callers.dependencies import CurrentCaller, LoginStoreDep
from sharestack.callers.limits import AuthRateLimit
from sharestack.dependencies import SettingsDep, WriteSessionDep
from sharestack.openapi import errors
from sharestack.users import service as users_service
from sharestack.users.schemas import MeRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    dependencies=[HashingAdmission, AuthRateLimit],
    responses=errors(409),
)
async def register(body: RegisterRequest, session: WriteSessionDep) -> MeRead:
    user = await service.register(session, body.email, body.password, body.display_name)
    return await users_service.me(session, user)


@router.post("/login", dependencies=[HashingAdmission, AuthRateLimit], responses=errors(401))
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: WriteSessionDep,
    store: LoginStoreDep,
    settings: SettingsDep,
) -> LoginResponse:
    user = await service.authenticate(session, body.email, body.password)
    token = await store.create(
        user.id,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
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
async def logout(caller: CurrentCaller, store: LoginStoreDep, settings: SettingsDep) -> Response:
    await store.revoke(caller.digest, user_id=caller.user_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(settings.session_cookie_name, path="/")
    return response
