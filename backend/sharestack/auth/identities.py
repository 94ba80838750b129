"""Identities: the ways one account signs in (rows of ``user_auth``).

- ``password``: identifier = the canonical email (``users.email`` holds the same address);
- ``phone``: identifier = the E.164 number (``+8613800138000``);
- ``wechat``: identifier = ``unionid:<UnionID>`` where WeChat gives one (the app is bound to an
  open-platform account: the same person across the website, the mini-program and official
  accounts), else ``openid:<appid>:<OpenID>`` (an OpenID means something only within its app).
  When a UnionID arrives for a person first seen without one, their row is rewritten to it.

Linking needs proof of both sides: the signed-in session (the router's ``CurrentUser``) and a
code or a WeChat log-in for the new identity. Changes take the user row's lock first
(``users_service.lock``), so concurrent unlinks cannot leave an account with no way in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy.exc

from sharestack.auth import identities_repository, repository
from sharestack.auth.exceptions import EmailTaken
from sharestack.auth.identity_errors import (
    AccountDisabled,
    AlreadyLinked,
    IdentityNotFound,
    IdentityTaken,
    LastIdentity,
)
from sharestack.auth.identity_schemas import IdentityRead
from sharestack.auth.models import UserAuth
from sharestack.auth.security import hash_password
from sharestack.db.base import utcnow
from sharestack.db.session import ReadSession, WriteSession
from sharestack.errors import Conflict
from sharestack.text import canonical_email
from sharestack.users import service as users_service
from sharestack.wechat import WechatIdentity

if TYPE_CHECKING:  # the User entity is users' own: auth only passes it along
    from sharestack.users.models import User

PASSWORD = "password"  # noqa: S105 - the provider's name
PHONE = "phone"
WECHAT = "wechat"


def wechat_identifier(identity: WechatIdentity) -> str:
    if identity.unionid:
        return f"unionid:{identity.unionid}"
    return f"openid:{identity.appid}:{identity.openid}"


def label(credential: UserAuth) -> str:
    """What the owner sees: the email, the number with its middle hidden, or just WeChat (the
    ids are WeChat's keys for this person, not something to show)."""
    if credential.provider == PHONE:
        number = credential.identifier
        return f"{number[:-8]}****{number[-4:]}" if len(number) > 10 else number
    if credential.provider == WECHAT:
        return "WeChat"
    return credential.identifier


def read(credential: UserAuth) -> IdentityRead:
    return IdentityRead(
        id=credential.id,
        provider=credential.provider,
        label=label(credential),
        created_at=credential.created_at,
        last_used_at=credential.last_used_at,
    )


async def list_identities(session: ReadSession, user_id: int) -> list[IdentityRead]:
    return [read(c) for c in await identities_repository.list_for_user(session, user_id)]


async def _find_wechat(session: WriteSession, identity: WechatIdentity) -> UserAuth | None:
    credential = await repository.get_credential(session, WECHAT, wechat_identifier(identity))
    if credential is None and identity.unionid:
        scoped = f"openid:{identity.appid}:{identity.openid}"
        credential = await repository.get_credential(session, WECHAT, scoped)
        if credential is not None:  # first seen without a UnionID: key it by the UnionID now
            credential.identifier = wechat_identifier(identity)
    return credential


async def sign_in(
    session: WriteSession,
    provider: str,
    identifier: str,
    display_name: str,
    *,
    wechat: WechatIdentity | None = None,
) -> tuple[User, bool]:
    """The account of this identity, created on first use; and whether it was created."""
    if wechat is not None:
        credential = await _find_wechat(session, wechat)
    else:
        credential = await repository.get_credential(session, provider, identifier)
    now = utcnow()
    if credential is not None:
        user = await users_service.get(session, credential.user_id)
        if user is None or user.status != "active":
            raise AccountDisabled()
        credential.last_used_at = user.last_login_at = now
        return user, False
    try:
        user = await users_service.create(session, email=None, display_name=display_name)
        await repository.add_credential(
            session,
            UserAuth(user_id=user.id, provider=provider, identifier=identifier, last_used_at=now),
        )
    except sqlalchemy.exc.IntegrityError as exc:
        # A concurrent first log-in of the same identity won (the unique index decided).
        raise Conflict("This account was just created by another request; sign in again.") from exc
    user.last_login_at = now
    return user, True


async def link(
    session: WriteSession, user_id: int, provider: str, identifier: str, existing: UserAuth | None
) -> IdentityRead:
    """Attach a proven identity (``existing``: its row if someone has it already)."""
    await users_service.lock(session, user_id)
    if existing is not None:
        raise AlreadyLinked() if existing.user_id == user_id else IdentityTaken()
    mine = await identities_repository.list_for_user(session, user_id)
    if any(c.provider == provider for c in mine):
        raise AlreadyLinked()
    credential = UserAuth(user_id=user_id, provider=provider, identifier=identifier)
    try:
        await repository.add_credential(session, credential)
    except sqlalchemy.exc.IntegrityError as exc:
        raise IdentityTaken() from exc
    return read(credential)


async def link_phone(session: WriteSession, user_id: int, phone: str) -> IdentityRead:
    existing = await repository.get_credential(session, PHONE, phone)
    return await link(session, user_id, PHONE, phone, existing)


async def link_wechat(
    session: WriteSession, user_id: int, identity: WechatIdentity
) -> IdentityRead:
    existing = await _find_wechat(session, identity)
    return await link(session, user_id, WECHAT, wechat_identifier(identity), existing)


async def link_email(session: WriteSession, user: User, email: str, password: str) -> IdentityRead:
    """An email and password for an account that has none (signed up by phone or WeChat)."""
    email = canonical_email(email)
    password_hash = await hash_password(password)  # before the lock: argon2 takes a while
    locked = await users_service.lock(session, user.id)
    assert locked is not None
    mine = await identities_repository.list_for_user(session, user.id)
    if locked.email is not None or any(c.provider == PASSWORD for c in mine):
        raise AlreadyLinked()
    if await users_service.get_by_email(session, email) is not None:
        raise EmailTaken(fields={"email": "already registered"})
    credential = UserAuth(
        user_id=user.id, provider=PASSWORD, identifier=email, secret_hash=password_hash
    )
    try:
        await users_service.set_email(session, locked, email)
        await repository.add_credential(session, credential)
    except sqlalchemy.exc.IntegrityError as exc:
        raise EmailTaken(fields={"email": "already registered"}) from exc
    return read(credential)


async def unlink(session: WriteSession, user_id: int, identity_id: int) -> None:
    user = await users_service.lock(session, user_id)
    assert user is not None
    mine = await identities_repository.list_for_user(session, user_id)
    target = next((c for c in mine if c.id == identity_id), None)
    if target is None:
        raise IdentityNotFound()
    if len(mine) == 1:
        raise LastIdentity()
    await identities_repository.delete(session, target)
    if target.provider == PASSWORD and user.email == target.identifier:
        # The address is free again: another account may register or link it.
        await users_service.set_email(session, user, None)
