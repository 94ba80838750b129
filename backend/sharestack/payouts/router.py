"""Creators' money: balance, ledger entries, payout accounts, payouts and monthly statements.
Everything is the caller's own; money that decides something is read on the primary
(``WriteSessionDep``), display reads may come from a replica."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response

from sharestack.callers.dependencies import CurrentCaller
from sharestack.dependencies import (
    CursorsDep,
    DatabaseDep,
    ReadSessionDep,
    SettingsDep,
    StateDep,
    WriteSessionDep,
)
from sharestack.errors import documented
from sharestack.idempotency.service import IdempotencyKey
from sharestack.ledger import service as ledger_service
from sharestack.ledger.schemas import LedgerEntryPage
from sharestack.openapi import errors
from sharestack.payouts import service, statements
from sharestack.payouts.rules import PayoutPolicy
from sharestack.payouts.schemas import (
    BalanceRead,
    PayoutAccountCreate,
    PayoutAccountRead,
    PayoutCreate,
    PayoutPage,
    PayoutRead,
)

router = APIRouter(
    tags=["payouts"], responses=errors(404)
)  # lookups by id: 404 when not the caller's

Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=50)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Month = Annotated[
    str, Path(pattern=r"^2[0-9]{3}-(0[1-9]|1[0-2])$", description="YYYY-MM, years 2000-2999")
]
Currency = Annotated[str, Query(pattern=r"^[A-Z]{3}$")]

SIGNED_IN = {401: "not signed in", 429: "rate limited"}
BAD_CURSOR = {422: "invalid cursor or limit"}


@router.get("/me/balance", responses=documented(SIGNED_IN))
async def my_balance(caller: CurrentCaller, session: ReadSessionDep) -> BalanceRead:
    """Pending (held), available (may be paid out) and in transit (being paid out), per
    currency, in minor units."""
    return await service.balance(session, caller.user_id)


@router.get("/me/ledger", responses=documented(SIGNED_IN | BAD_CURSOR))
async def my_ledger(
    caller: CurrentCaller,
    session: ReadSessionDep,
    cursors: CursorsDep,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> LedgerEntryPage:
    """The caller's ledger entries, newest first, in keyset pages."""
    return await ledger_service.entries_page(session, cursors, caller.user_id, cursor, limit)


@router.post(
    "/me/payout-accounts",
    status_code=status.HTTP_201_CREATED,
    responses=documented(SIGNED_IN | {422: "identity does not fit the provider, or no name"}),
)
async def create_payout_account(
    body: PayoutAccountCreate, caller: CurrentCaller, session: WriteSessionDep, state: StateDep
) -> PayoutAccountRead:
    """Register where payouts go. The real name is stored for the providers' checks and only
    ever shown masked."""
    account = await service.create_account(session, state.sealer, caller.user_id, body)
    return service.present_account(account)


@router.get("/me/payout-accounts", responses=documented(SIGNED_IN))
async def my_payout_accounts(
    caller: CurrentCaller, session: WriteSessionDep
) -> list[PayoutAccountRead]:
    return [
        service.present_account(a) for a in await service.list_accounts(session, caller.user_id)
    ]


@router.post(
    "/payouts",
    status_code=status.HTTP_201_CREATED,
    response_model=PayoutRead,
    responses=documented(
        SIGNED_IN
        | {
            404: "payout_account_not_found: not one of the caller's payout accounts",
            409: "insufficient_funds: more than the available balance; "
            "idempotency_key_reused: the key was used with another body or an earlier payout; "
            "idempotency_in_progress: the key's first request is still running (Retry-After)",
            422: "validation_error (Idempotency-Key missing or malformed included), "
            "payout_below_minimum, real_name_required",
            429: "payout_daily_limit (Retry-After: until the next Beijing day) or rate limited",
            503: "the database was briefly unavailable; retry with the same key",
        }
    ),
)
async def create_payout(
    body: PayoutCreate,
    caller: CurrentCaller,
    idempotency_key: IdempotencyKey,
    db: DatabaseDep,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> Response:
    """Pay out ``amount`` of the available balance to one of the caller's payout accounts. The
    amount moves to in transit at once; the transfer is sent within a minute. With the same
    ``Idempotency-Key`` (and body) the first answer is returned again, status and body alike
    (``Idempotent-Replayed: true``)."""
    policy = PayoutPolicy.from_settings(settings)
    return await service.request_payout(
        db, session, settings, caller.user_id, idempotency_key, body, policy
    )


@router.get("/payouts", responses=documented(SIGNED_IN | BAD_CURSOR))
async def my_payouts(
    caller: CurrentCaller,
    session: ReadSessionDep,
    cursors: CursorsDep,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> PayoutPage:
    """The caller's payouts, newest first, in keyset pages."""
    return await service.page(session, cursors, caller.user_id, cursor, limit)


@router.get("/payouts/{payout_id}", responses=documented(SIGNED_IN | {404: "no such payout"}))
async def my_payout(payout_id: Id, caller: CurrentCaller, session: WriteSessionDep) -> PayoutRead:
    return service.present(await service.get(session, caller.user_id, payout_id))


@router.get(
    "/me/statements/{month}.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "date,kind,reference,amount,balance"},
        **documented(SIGNED_IN | {422: "invalid_month: not YYYY-MM"}),
    },
)
async def my_statement(
    month: Month, caller: CurrentCaller, session: ReadSessionDep, currency: Currency = "CNY"
) -> Response:
    """The month's statement (Beijing time): opening balance, every payment, fee, refund and
    payout, closing balance; amounts in yuan with two decimals."""
    body = await statements.monthly_csv(session, caller.user_id, month, currency)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{month}.csv"'},
    )
