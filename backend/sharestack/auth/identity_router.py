"""Phone and WeChat log-in (``/auth/phone``, ``/auth/wechat``) and the signed-in user's linked
identities (``/me/identities``). Every route that takes a code or sends one carries the stricter
RATE_LIMIT_AUTH (``AuthRateLimit``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Path, Response, status
from starlette.requests import HTTPConnection

from sharestack.auth import identities, phone, wechat
from sharestack.auth.dependencies import PhoneCodesDep
from sharestack.auth.identity_errors import NotEnabled
from sharestack.auth.identity_schemas import (
    EmailLink,
    IdentityLoginResponse,
    IdentityRead,
    PhoneCodeRequest,
    PhoneCodeSent,
    PhoneLogin,
    WechatAuthorization,
    WechatMiniLogin,
    WechatWebLogin,
)
from sharestack.callers.dependencies import LoginStoreDep
from sharestack.callers.limits import AuthRateLimit
from sharestack.callers.store import LoginStore
from sharestack.config import Settings
from sharestack.dependencies import SettingsDep, StateDep, WriteSessionDep
from sharestack.errors import documented
from sharestack.users.dependencies import CurrentUser

router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(prefix="/me/identities", tags=["users"])

IdentityIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
StateCookie = Annotated[str | None, Cookie(alias=wechat.STATE_COOKIE, include_in_schema=False)]


async def _states(state: StateDep) -> wechat.WechatStates:
    return wechat.WechatStates(state.redis, state.settings.wechat_state_ttl_seconds)


WechatStatesDep = Annotated[wechat.WechatStates, Depends(_states)]

CODE_ERRORS = {400: "the code is wrong, expired or used", 422: "not a valid mobile number"}
LOCKED = {429: "too many requests, or too many wrong codes for this number (request a new one)"}
# Any log-in: a disabled account; a first log-in that raced another for the same identity.
SIGN_IN = {403: "the account is disabled", 409: "created by a simultaneous log-in: sign in again"}
WEB_ERRORS = {
    400: "state not this browser's, expired or used; or WeChat refused the code",
    404: "WeChat website log-in is not enabled here",
    502: "WeChat could not be reached",
}


async def _signed_in(
    response: Response,
    store: LoginStore,
    settings: Settings,
    user_id: int,
    created: bool,
) -> IdentityLoginResponse:
    token = await store.create(user_id)
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return IdentityLoginResponse(
        token=token, user_id=user_id, expires_in=settings.session_ttl_seconds, created=created
    )


def _ip(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


@router.post(
    "/phone/code",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[AuthRateLimit],
    responses=documented(
        {
            404: "phone log-in is not enabled here (no SMS provider)",
            422: "not a valid mobile number",
        }
    ),
)
async def request_phone_code(
    body: PhoneCodeRequest,
    connection: HTTPConnection,
    state: StateDep,
    session: WriteSessionDep,
    codes: PhoneCodesDep,
) -> PhoneCodeSent:
    """Send a 6-digit code by SMS, for log-in or for linking the number. Limited per number and
    per IP (429 with Retry-After); the same answer whether or not the number has an account."""
    if state.sms is None:
        raise NotEnabled("Phone log-in is not enabled on this server.")
    number = phone.normalize_phone(body.phone, state.settings.phone_default_region)
    await phone.check_send_limits(state.ratelimiter, state.settings, _ip(connection), number)
    expires_in = await phone.send_code(session, codes, state.settings.secret_key, number)
    return PhoneCodeSent(expires_in=expires_in)


@router.post(
    "/phone/login",
    dependencies=[AuthRateLimit],
    responses=documented(CODE_ERRORS | LOCKED | SIGN_IN),
)
async def phone_login(
    body: PhoneLogin,
    response: Response,
    session: WriteSessionDep,
    codes: PhoneCodesDep,
    store: LoginStoreDep,
    settings: SettingsDep,
) -> IdentityLoginResponse:
    """Sign in with the code sent to the number; the first log-in creates the account."""
    number = phone.normalize_phone(body.phone, settings.phone_default_region)
    user, created = await phone.login(session, codes, number, body.code)
    return await _signed_in(response, store, settings, user.id, created)


@router.post("/wechat/authorize", responses=documented({404: WEB_ERRORS[404]}))
async def wechat_authorize(
    response: Response, state: StateDep, states: WechatStatesDep
) -> WechatAuthorization:
    """Start a website QR log-in: the URL to send the browser to, and the state, also set as a
    short-lived cookie that the callback must bring back."""
    client = wechat.web_client(state.wechat)
    value = await states.issue()
    response.set_cookie(
        wechat.STATE_COOKIE,
        value,
        max_age=states.ttl,
        httponly=True,
        samesite="lax",
        secure=state.settings.cookie_secure,
        path="/api/v1/",
    )
    return WechatAuthorization(url=client.authorize_url(value), state=value, expires_in=states.ttl)


@router.post(
    "/wechat/login", dependencies=[AuthRateLimit], responses=documented(WEB_ERRORS | SIGN_IN)
)
async def wechat_login(
    body: WechatWebLogin,
    response: Response,
    state: StateDep,
    states: WechatStatesDep,
    session: WriteSessionDep,
    store: LoginStoreDep,
    cookie: StateCookie = None,
) -> IdentityLoginResponse:
    """Finish a website QR log-in with the ``code`` and ``state`` WeChat sent the browser back
    with; the first log-in creates the account."""
    identity = await wechat.web_identity(state.wechat, states, body.code, body.state, cookie)
    user, created = await wechat.login(session, identity)
    response.delete_cookie(wechat.STATE_COOKIE, path="/api/v1/")
    return await _signed_in(response, store, state.settings, user.id, created)


@router.post(
    "/wechat/miniprogram/login",
    dependencies=[AuthRateLimit],
    responses=documented(
        {
            400: "WeChat refused the code",
            404: "mini-program log-in is not enabled here",
            502: WEB_ERRORS[502],
        }
        | SIGN_IN
    ),
)
async def wechat_mini_login(
    body: WechatMiniLogin,
    response: Response,
    state: StateDep,
    session: WriteSessionDep,
    store: LoginStoreDep,
) -> IdentityLoginResponse:
    """Sign in from the mini-program with the code of ``wx.login()`` (``code2session``)."""
    identity = await wechat.mini_identity(state.wechat, body.code)
    user, created = await wechat.login(session, identity)
    return await _signed_in(response, store, state.settings, user.id, created)


@me_router.get("")
async def list_identities(user: CurrentUser, session: WriteSessionDep) -> list[IdentityRead]:
    return await identities.list_identities(session, user.id)


@me_router.post(
    "/phone",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AuthRateLimit],
    responses=documented(CODE_ERRORS | LOCKED | {409: "linked to an account already"}),
)
async def link_phone(
    body: PhoneLogin,
    user: CurrentUser,
    session: WriteSessionDep,
    codes: PhoneCodesDep,
    settings: SettingsDep,
) -> IdentityRead:
    """Link a number, proven by the code sent to it (``POST /auth/phone/code``)."""
    number = phone.normalize_phone(body.phone, settings.phone_default_region)
    return await phone.link(session, codes, user.id, number, body.code)


@me_router.post(
    "/wechat",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AuthRateLimit],
    responses=documented(WEB_ERRORS | {409: "linked to an account already"}),
)
async def link_wechat(
    body: WechatWebLogin,
    response: Response,
    user: CurrentUser,
    state: StateDep,
    states: WechatStatesDep,
    session: WriteSessionDep,
    cookie: StateCookie = None,
) -> IdentityRead:
    """Link WeChat, proven by a website QR log-in started with ``POST /auth/wechat/authorize``."""
    identity = await wechat.web_identity(state.wechat, states, body.code, body.state, cookie)
    response.delete_cookie(wechat.STATE_COOKIE, path="/api/v1/")
    return await identities.link_wechat(session, user.id, identity)


@me_router.post(
    "/email",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AuthRateLimit],
    responses=documented({409: "the account has an email, or the address is registered"}),
)
async def link_email(body: EmailLink, user: CurrentUser, session: WriteSessionDep) -> IdentityRead:
    """Give a phone or WeChat account an email and password to sign in with as well."""
    return await identities.link_email(session, user, body.email, body.password)


@me_router.delete(
    # Digits only: /me/identities/phone (POST) must not also match DELETE (the Allow header).
    "/{identity_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=documented({404: "not one of your identities", 409: "your only identity"}),
)
async def unlink_identity(
    identity_id: IdentityIdPath, user: CurrentUser, session: WriteSessionDep
) -> Response:
    await identities.unlink(session, user.id, identity_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
