"""Deleting and exporting an account.

Deletion, in the request's one transaction: every identity (``user_auth``) and pending emailed
token goes; the user's content is deleted (items, versions, tag links); subscriptions stop
renewing and the user's plans are archived (``subscriptions/closure.py``); the user row and
profile are anonymised and kept as a tombstone (``users/deletion.py``). Payments, refunds,
ledger entries, payout accounts and payouts are kept as they are: bookkeeping and the payment
providers' records need them, and they point at the tombstone. After the commit every session
of the user ends (the router does it).
"""

from __future__ import annotations

from sharestack.accounts.schemas import AccountExport, IdentityExport
from sharestack.auth import export as auth_export
from sharestack.auth import recovery
from sharestack.auth.phone_codes import PhoneCodes
from sharestack.content import service as content_service
from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.payments import service as payments_service
from sharestack.subscriptions import closure
from sharestack.subscriptions import service as subscriptions_service
from sharestack.users import deletion
from sharestack.users import service as users_service
from sharestack.users.models import User


async def delete(
    session: WriteSession,
    user: User,
    *,
    password: str | None,
    phone_code: str | None = None,
    codes: PhoneCodes | None = None,
) -> None:
    await recovery.reauthenticate(
        session, user, password=password, phone_code=phone_code, codes=codes
    )
    await recovery.erase_credentials(session, user.id)
    await content_service.erase_author(session, user.id)
    await closure.close_account(session, user.id)
    await deletion.anonymise(session, user)


async def export(session: WriteSession, user: User) -> AccountExport:
    return AccountExport(
        exported_at=utcnow(),
        profile=await users_service.me(session, user),
        identities=[
            IdentityExport(
                provider=i.provider,
                identifier=i.identifier,
                created_at=i.created_at,
                last_used_at=i.last_used_at,
            )
            for i in await auth_export.identities(session, user.id)
        ],
        contents=await content_service.all_for_author(session, user.id),
        subscriptions=await subscriptions_service.mine(session, user.id),
        payments=await payments_service.all_for_payer(session, user.id),
    )
