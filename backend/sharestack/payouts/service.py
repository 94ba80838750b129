"""Payout accounts and payout requests (what the API does); sending them is ``sending``,
reconciliation ``reconciliation``, monthly statements ``statements``.

A payout request, under the shared idempotency rule (``sharestack.idempotency``, scope
``payout``), in the request's one transaction: the creator's available and in-transit ledger
accounts locked (so that every request of one creator queues here: the daily limits and the
balance are read under that lock), the payout row, then ``ledger.payouts.request_payout`` moves
the amount from available to in transit. Any refusal rolls all of it back (and releases the key
for a retry). The sending job picks the payout up within a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from starlette.responses import Response

from sharestack.config import Settings
from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.db.session import ReadSession, WriteSession
from sharestack.errors import InvalidInput
from sharestack.idempotency import service as idempotency
from sharestack.idempotency.exceptions import IdempotencyKeyReused
from sharestack.ledger import payouts as ledger_payouts
from sharestack.ledger import service as ledger_service
from sharestack.ledger.exceptions import InsufficientFunds, PayoutBelowMinimum
from sharestack.ledger.rules import LedgerPolicy
from sharestack.pagination import Cursors, Position
from sharestack.payouts import repository, rules
from sharestack.payouts.exceptions import (
    DailyLimitReached,
    PayoutAccountNotFound,
    PayoutNotFound,
    RealNameRequired,
)
from sharestack.payouts.models import Payout, PayoutAccount
from sharestack.payouts.rules import PayoutPolicy
from sharestack.payouts.schemas import (
    BalanceRead,
    CurrencyBalance,
    PayoutAccountCreate,
    PayoutAccountRead,
    PayoutCreate,
    PayoutPage,
    PayoutRead,
)
from sharestack.sealing import Sealer

# Both providers pay out in yuan only.
PAYOUT_CURRENCIES = frozenset({"CNY"})


# -- accounts --------------------------------------------------------------------------------------
def present_account(account: PayoutAccount) -> PayoutAccountRead:
    return PayoutAccountRead(
        id=account.id,
        provider=account.provider,
        identity_type=account.identity_type,
        identity=rules.mask_identity(account.identity),
        real_name=account.real_name_masked,
        created_at=account.created_at,
    )


async def create_account(
    session: WriteSession, sealer: Sealer, creator_id: int, body: PayoutAccountCreate
) -> PayoutAccount:
    """Register (or, for an identity already registered, update the name of) a payout account.
    Also opens the creator's ledger accounts that payouts use, so concurrent first requests
    queue on existing rows."""
    account = await repository.find_account(session, creator_id, body.provider, body.identity)
    if account is None:
        account = PayoutAccount(
            creator_id=creator_id,
            provider=body.provider,
            identity_type=body.identity_type,
            identity=body.identity,
        )
        session.add(account)
    if body.real_name:
        account.real_name_sealed = sealer.seal(
            body.real_name, context=rules.name_context(creator_id)
        )
        account.real_name_masked = rules.mask_name(body.real_name)
    await session.flush()
    for currency in sorted(PAYOUT_CURRENCIES):
        await ledger_payouts.lock_payout_accounts(session, creator_id, currency)
    return account


async def list_accounts(session: ReadSession, creator_id: int) -> Sequence[PayoutAccount]:
    return await repository.list_accounts(session, creator_id)


# -- balances ------------------------------------------------------------------------------------
async def balance(session: ReadSession, creator_id: int) -> BalanceRead:
    found = await ledger_service.balances(session, creator_id)
    return BalanceRead(
        balances=[
            CurrencyBalance(currency=currency, **b.model_dump()) for currency, b in found.items()
        ]
    )


# -- payouts -------------------------------------------------------------------------------------
def present(payout: Payout) -> PayoutRead:
    awaiting = payout.status == "in_transit" and payout.provider_status == "WAIT_USER_CONFIRM"
    return PayoutRead(
        id=payout.id,
        payout_account_id=payout.payout_account_id,
        provider=payout.provider,
        amount=payout.amount,
        currency=payout.currency,
        status=payout.status,
        provider_status=payout.provider_status,
        awaiting_confirmation=awaiting,
        package_info=payout.package_info if awaiting else None,
        confirm_before=payout.expires_at if awaiting else None,
        failure_reason=payout.failure_reason,
        created_at=payout.created_at,
        paid_at=payout.paid_at,
        finished_at=payout.finished_at,
    )


async def request_payout(
    db: Database,
    session: WriteSession,
    settings: Settings,
    creator_id: int,
    idempotency_key: str,
    body: PayoutCreate,
    policy: PayoutPolicy,
) -> Response:
    """``POST /payouts``: 201 with the payout, or the stored answer of the key's first request."""

    async def work(_record_id: int) -> PayoutRead:
        payout = await _create(session, creator_id, idempotency_key, body, policy, utcnow())
        return present(payout)

    return await idempotency.run(
        db, session, settings, user_id=creator_id, scope="payout",
        key=idempotency_key, request=body, work=work,
    )  # fmt: skip


async def _create(
    session: WriteSession,
    creator_id: int,
    key: str,
    body: PayoutCreate,
    policy: PayoutPolicy,
    now: datetime,
) -> Payout:
    account = await repository.get_account(session, body.payout_account_id)
    if account is None or account.creator_id != creator_id:
        raise PayoutAccountNotFound(fields={"payout_account_id": "not one of yours"})
    if body.currency not in PAYOUT_CURRENCIES:
        raise InvalidInput(fields={"currency": "payouts are made in CNY"})
    if body.amount < policy.min_amount:
        raise PayoutBelowMinimum(
            f"The smallest payout is {policy.min_amount}.",
            fields={"amount": f"at least {policy.min_amount}"},
        )
    if rules.needs_real_name(account.provider, account.identity_type, body.amount) and not (
        account.real_name_sealed
    ):
        raise RealNameRequired(fields={"payout_account_id": "register the account's real name"})
    digest = rules.payout_key_digest(creator_id, key)
    # Every request of this creator queues here; what follows reads under the lock.
    available = await ledger_payouts.lock_payout_accounts(session, creator_id, body.currency)
    start, end = rules.china_day(now)
    count, total = await repository.day_totals(session, creator_id, start, end)
    if not rules.within_daily_limits(policy, count, total, body.amount):
        retry_after = max(int((end - now).total_seconds()), 1)
        raise DailyLimitReached(headers={"Retry-After": str(retry_after)})
    if available <= 0 or body.amount > available:
        raise InsufficientFunds(f"{max(available, 0)} {body.currency} is available for payout.")
    if await repository.payout_by_digest(session, digest) is not None:
        # The key's record expired (24 h) but its payout remains: a key is never reused.
        raise IdempotencyKeyReused("This Idempotency-Key was used for an earlier payout.")
    payout = Payout(
        creator_id=creator_id,
        payout_account_id=account.id,
        provider=account.provider,
        amount=body.amount,
        currency=body.currency,
        status="pending",
        idempotency_key=digest,
        next_attempt_at=now,
        attempts=0,
        provider_status="",
        created_at=now,
        updated_at=now,
    )
    session.add(payout)
    await session.flush()
    await ledger_payouts.request_payout(
        session,
        creator_id,
        body.currency,
        body.amount,
        payout.id,
        policy=LedgerPolicy(min_payout_amount=policy.min_amount),
    )
    return payout


async def get(session: WriteSession, creator_id: int, payout_id: int) -> Payout:
    payout = await repository.get_payout(session, payout_id)
    if payout is None or payout.creator_id != creator_id:
        raise PayoutNotFound()
    return payout


async def page(
    session: ReadSession, cursors: Cursors, creator_id: int, cursor: str | None, limit: int
) -> PayoutPage:
    after = cursors.decode_optional(cursor)
    rows = await repository.payouts_page(session, creator_id, after, limit + 1)
    items = [present(p) for p in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = cursors.encode(Position(last.created_at, last.id))
    return PayoutPage(items=items, next_cursor=next_cursor)
