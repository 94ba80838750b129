from __future__ import annotations

from fastapi import APIRouter, Response, status

from sharestack.accounts import service
from sharestack.accounts.schemas import AccountDelete, AccountExport
from sharestack.auth.dependencies import PhoneCodesDep
from sharestack.callers.dependencies import LoginStoreDep
from sharestack.callers.limits import AuthRateLimit
from sharestack.dependencies import SettingsDep, WriteSessionDep
from sharestack.users.dependencies import CurrentUser

router = APIRouter(tags=["users"])


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, dependencies=[AuthRateLimit])
async def delete_me(
    body: AccountDelete,
    user: CurrentUser,
    session: WriteSessionDep,
    store: LoginStoreDep,
    settings: SettingsDep,
    codes: PhoneCodesDep,
) -> Response:
    """Delete the account (see the README, "Account deletion"): needs the current password, or
    for an account without one, a fresh code sent to its linked number."""
    await service.delete(
        session, user, password=body.password, phone_code=body.phone_code, codes=codes
    )
    # Ended before the commit: should the commit fail, the user signs in again and retries,
    # rather than a deleted account keeping a live session.
    await store.revoke_all(user.id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(settings.session_cookie_name, path="/")
    return response


@router.get("/me/export")
async def export_me(user: CurrentUser, session: WriteSessionDep) -> AccountExport:
    """Everything the account holds, as JSON: profile, identities (no secrets), content with
    bodies, subscriptions and payments."""
    return await service.export(session, user)
