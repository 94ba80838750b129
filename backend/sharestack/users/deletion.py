"""Erasing an account's personal data from the users tables.

The row itself stays as a tombstone: payments, ledger entries, payouts and subscriptions point
at it (``ON DELETE RESTRICT``) and must keep doing so for bookkeeping. What identified a person
goes: the email becomes ``deleted-<id>@deleted.invalid`` (unique, undeliverable: ``.invalid``
is reserved), the profile loses its name, bio and avatar; the status ``disabled`` makes the
account unusable and its public profile a 404, and ``deleted_at`` says why.
"""

from __future__ import annotations

from sharestack.cache import invalidation, keys
from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.users import repository
from sharestack.users.models import User

DELETED_DISPLAY_NAME = "已注销 Deleted account"


def tombstone_email(user_id: int) -> str:
    return f"deleted-{user_id}@deleted.invalid"


async def anonymise(session: WriteSession, user: User) -> None:
    user.email = tombstone_email(user.id)
    user.status = "disabled"
    user.deleted_at = utcnow()
    user.email_verified_at = None
    user.last_login_at = None
    profile = await repository.get_profile(session, user.id)
    if profile is not None:
        profile.display_name = DELETED_DISPLAY_NAME
        profile.bio = ""
        profile.avatar_url = None
    await session.flush()
    invalidation.note(session, keys.scope_profile(user.id))
