from __future__ import annotations

import sqlalchemy.exc

from sharestack.auth import repository
from sharestack.auth.exceptions import EmailTaken, InvalidCredentials
from sharestack.auth.models import UserAuth
from sharestack.auth.passwords import check as check_password
from sharestack.auth.security import hash_password, verify_password
from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.jobs import outbox
from sharestack.text import canonical_email
from sharestack.users import service as users_service
from sharestack.users.models import User

PASSWORD = "password"  # noqa: S105 - the provider's name, not a secret


def normalize_email(email: str) -> str:
    """The one form an address is stored and looked up in (``sharestack.text``)."""
    return canonical_email(email)


async def register(
    session: WriteSession, email: str, password: str, display_name: str | None
) -> User:
    email = normalize_email(email)
    check_password(password, field="password", email=email)
    if await users_service.get_by_email(session, email) is not None:
        raise EmailTaken(fields={"email": "already registered"})
    password_hash = await hash_password(password)
    try:
        user = await users_service.create(
            session, email=email, display_name=display_name or email.split("@", 1)[0][:64]
        )
        await repository.add_credential(
            session,
            UserAuth(
                user_id=user.id, provider=PASSWORD, identifier=email, secret_hash=password_hash
            ),
        )
    except sqlalchemy.exc.IntegrityError as exc:
        # Two registrations for one address raced past the check above: the unique index decides.
        raise EmailTaken(fields={"email": "already registered"}) from exc
    await outbox.enqueue(session, "send_email_verification", user_id=user.id)
    return user


async def authenticate(session: WriteSession, email: str, password: str) -> User:
    credential = await repository.get_credential(session, PASSWORD, normalize_email(email))
    found = (credential.id, credential.user_id, credential.secret_hash) if credential else None
    # Nothing is written yet: give the connection back to the pool while argon2 spends tens of
    # milliseconds of CPU in a thread, so a burst of log-ins queues for CPU, not for database
    # connections that every other request needs too. The session reconnects below.
    await session.close()
    ok = await verify_password(found[2] if found else None, password)
    if found is None or not ok:
        raise InvalidCredentials()
    credential_id, user_id, _ = found
    user = await users_service.get(session, user_id)
    credential = await repository.get_credential_by_id(session, credential_id)
    if user is None or credential is None or user.status != "active":
        raise InvalidCredentials()
    now = utcnow()
    credential.last_used_at = now
    user.last_login_at = now
    return user
