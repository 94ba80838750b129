"""Passwords after registration: change, forgotten-password reset by email, email verification,
and the re-authentication check that guards destructive account changes.

Emails are never sent from here: a request enqueues a job (``auth/jobs.py``) through the outbox,
and the job issues the token and sends the mail. A request that rolls back therefore sends
nothing, and the token exists only in the email (``auth/tokens.py`` keeps its digest).
"""

from __future__ import annotations

from sharestack.auth import phone, repository, tokens
from sharestack.auth.models import UserAuth
from sharestack.auth.passwords import check as check_password
from sharestack.auth.phone_codes import PhoneCodes
from sharestack.auth.security import hash_password, verify_password
from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.errors import AppError, Unauthorized
from sharestack.jobs import outbox
from sharestack.text import canonical_email
from sharestack.users import service as users_service
from sharestack.users.models import User

PASSWORD = "password"  # noqa: S105 - the provider's name, not a secret
PHONE = "phone"
RESET = "password_reset"
VERIFY = "email_verify"


class InvalidToken(AppError):
    status_code = 400
    code = "invalid_token"
    message = "This link is invalid, expired or already used; ask for a new one."


class WrongPassword(Unauthorized):
    code = "wrong_password"
    message = "The current password is incorrect."


class ReauthenticationRequired(Unauthorized):
    code = "reauthentication_required"
    message = "Confirm it is you: send your current password."


async def _password_credential(session: WriteSession, user_id: int) -> UserAuth | None:
    return await repository.get_user_credential(session, user_id, PASSWORD)


async def reauthenticate(
    session: WriteSession,
    user: User,
    *,
    password: str | None,
    phone_code: str | None = None,
    codes: PhoneCodes | None = None,
) -> None:
    """Prove the caller is the account's owner right now, not only the holder of a session.

    The proof is the current password; an account without one proves it with a fresh SMS code
    sent to its linked number (``POST /auth/phone/code``). Raises 401 when the proof is missing
    or wrong (400/429 for a wrong or locked code, as at log-in).
    """
    credential = await _password_credential(session, user.id)
    if credential is None or not credential.secret_hash:
        number = await repository.get_user_credential(session, user.id, PHONE)
        if number is None or codes is None:
            raise ReauthenticationRequired(
                fields={"password": "this account has no password or phone to prove it with"}
            )
        if phone_code is None:
            raise ReauthenticationRequired(
                fields={"phone_code": "required: the code sent to the account's number"}
            )
        await phone.prove(codes, number.identifier, phone_code)
        return
    if password is None:
        raise ReauthenticationRequired(fields={"password": "required"})
    if not await verify_password(credential.secret_hash, password):
        raise WrongPassword(fields={"password": "incorrect"})


async def change_password(
    session: WriteSession, user: User, current_password: str, new_password: str
) -> None:
    """The caller ends their other sessions themselves (``LoginStore.revoke_all``)."""
    credential = await _password_credential(session, user.id)
    if credential is None or not await verify_password(credential.secret_hash, current_password):
        raise WrongPassword(fields={"current_password": "incorrect"})
    check_password(new_password, field="new_password", email=user.email)
    credential.secret_hash = await hash_password(new_password)
    await session.flush()


async def request_reset(session: WriteSession, email: str) -> None:
    """Queue a reset email when the address has an account; the caller answers the same way
    either way, so the route cannot be used to find out who has an account."""
    user = await users_service.get_by_email(session, canonical_email(email))
    if user is not None and user.status == "active":
        await outbox.enqueue(session, "send_password_reset", user_id=user.id)


async def reset_password(
    session: WriteSession, secret_key: str, token: str, new_password: str
) -> User:
    """Set a new password with an emailed token; returns the user (whose sessions the caller
    then ends). Exactly one of concurrent uses of a token succeeds."""
    found = await tokens.find(session, secret_key, token, RESET)
    if found is None or found.used_at is not None or found.expires_at <= utcnow():
        raise InvalidToken(fields={"token": "invalid, expired or already used"})
    user = await users_service.get(session, found.user_id)
    # No email any more (unlinked since the link was sent): nothing to attach a password to.
    if user is None or user.status != "active" or user.email is None:
        raise InvalidToken(fields={"token": "invalid, expired or already used"})
    check_password(new_password, field="new_password", email=user.email)
    password_hash = await hash_password(new_password)
    if not await tokens.use(session, found):
        raise InvalidToken(fields={"token": "invalid, expired or already used"})
    await tokens.retire(session, user.id, RESET)
    credential = await _password_credential(session, user.id)
    if credential is None:
        # An account that signed up without a password (phone, WeChat) gets one for its email.
        await repository.add_credential(
            session,
            UserAuth(
                user_id=user.id, provider=PASSWORD, identifier=user.email, secret_hash=password_hash
            ),
        )
    else:
        credential.secret_hash = password_hash
    # Following the link proved the address is theirs.
    await users_service.mark_email_verified(session, user)
    await session.flush()
    return user


async def request_verification(session: WriteSession, user: User) -> None:
    if user.email_verified_at is None:
        await outbox.enqueue(session, "send_email_verification", user_id=user.id)


async def verify_email(session: WriteSession, secret_key: str, token: str) -> User:
    found = await tokens.find(session, secret_key, token, VERIFY)
    if found is None or not await tokens.use(session, found):
        raise InvalidToken(fields={"token": "invalid, expired or already used"})
    user = await users_service.get(session, found.user_id)
    if user is None or user.status != "active":
        raise InvalidToken(fields={"token": "invalid, expired or already used"})
    await users_service.mark_email_verified(session, user)
    return user


async def erase_credentials(session: WriteSession, user_id: int) -> None:
    """Account deletion: every identity (password, phone, WeChat) and pending token goes."""
    await repository.delete_credentials(session, user_id)
    await tokens.delete_for_user(session, user_id)
