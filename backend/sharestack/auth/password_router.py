"""Password change and reset, email verification. Every route here takes a secret or sends a
message, so each has the stricter per-IP ``AuthRateLimit``."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from sharestack.auth import recovery
from sharestack.auth.dependencies import HashingAdmission
from sharestack.auth.password_schemas import (
    Accepted,
    EmailVerify,
    PasswordChange,
    PasswordReset,
    ResetRequest,
)
from sharestack.callers.dependencies import CurrentCaller, LoginStoreDep
from sharestack.callers.limits import AuthRateLimit
from sharestack.dependencies import SettingsDep, WriteSessionDep
from sharestack.openapi import errors
from sharestack.users.dependencies import CurrentUser

router = APIRouter(dependencies=[AuthRateLimit])

NO_CONTENT = status.HTTP_204_NO_CONTENT
RESET_SENT = (
    "If an account has this address, a link to reset its password is on its way; it works "
    "once, for a short time."
)


@router.post("/me/password", status_code=NO_CONTENT, tags=["auth"], dependencies=[HashingAdmission])
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    caller: CurrentCaller,
    session: WriteSessionDep,
    store: LoginStoreDep,
) -> Response:
    """Needs the current password; every other session of the account ends, this one stays."""
    await recovery.change_password(session, user, body.current_password, body.new_password)
    await store.revoke_all(user.id, keep=caller.digest)
    return Response(status_code=NO_CONTENT)


@router.post("/auth/password/forgot", status_code=status.HTTP_202_ACCEPTED, tags=["auth"])
async def forgot_password(body: ResetRequest, session: WriteSessionDep) -> Accepted:
    """The same answer whether or not the address has an account."""
    await recovery.request_reset(session, body.email)
    return Accepted(message=RESET_SENT)


@router.post(
    "/auth/password/reset",
    status_code=NO_CONTENT,
    responses=errors(400),
    tags=["auth"],
    dependencies=[HashingAdmission],
)
async def reset_password(
    body: PasswordReset, session: WriteSessionDep, store: LoginStoreDep, settings: SettingsDep
) -> Response:
    """Set a new password with the emailed token (single use, PASSWORD_RESET_TTL_SECONDS);
    every session of the account ends."""
    user = await recovery.reset_password(
        session, settings.secret_key, body.token, body.new_password
    )
    await store.revoke_all(user.id)
    return Response(status_code=NO_CONTENT)


@router.post("/me/email/verification", status_code=status.HTTP_202_ACCEPTED, tags=["auth"])
async def send_verification(user: CurrentUser, session: WriteSessionDep) -> Accepted:
    """Email a verification link (nothing is sent when the address is verified already)."""
    await recovery.request_verification(session, user)
    return Accepted(message="A verification link is on its way unless the address is verified.")


@router.post("/auth/email/verify", status_code=NO_CONTENT, responses=errors(400), tags=["auth"])
async def verify_email(
    body: EmailVerify, session: WriteSessionDep, settings: SettingsDep
) -> Response:
    await recovery.verify_email(session, settings.secret_key, body.token)
    return Response(status_code=NO_CONTENT)
