"""Checkouts, payments, refunds, the sandbox's buyer, and provider webhooks.

Money is read and written on the primary only (``WriteSessionDep``). Money-moving calls take an
``Idempotency-Key`` header (``sharestack/idempotency``): a retry with the same key and body
gets the same status and bytes (with ``Idempotent-Replayed: true``); the same key with another
body gets 409. They identify the caller from the login session alone (``CurrentCaller``), so
that requests waiting on a concurrent twin hold no database connection.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from starlette.responses import Response

from sharestack.callers.dependencies import CurrentCaller
from sharestack.dependencies import CursorsDep, DatabaseDep, SettingsDep, WriteSessionDep
from sharestack.idempotency import service as idempotency
from sharestack.idempotency.service import IdempotencyKey
from sharestack.openapi import errors
from sharestack.pagination import Position
from sharestack.payments import checkout, refunds, repository, sandbox, webhooks
from sharestack.payments.dependencies import ProvidersDep
from sharestack.payments.exceptions import PaymentNotFound
from sharestack.payments.schemas import (
    CheckoutCreate,
    CheckoutRead,
    Page,
    PaymentRead,
    RefundCreate,
    RefundRead,
    SandboxPay,
    SandboxPayRead,
)

router = APIRouter(
    tags=["payments"], responses=errors(404)
)  # lookups by id: 404 when not the caller's
# Mounted outside the per-IP API rate limit: providers deliver (and retry) from a few
# addresses, and a refused notification is only delivered again.
webhook_router = APIRouter(
    tags=["payments"], responses=errors(404)
)  # lookups by id: 404 when not the caller's

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Cursor = Annotated[str | None, Query()]  # a cursor that does not verify is a 422
Limit = Annotated[int, Query(ge=1, le=50)]
IDEMPOTENT: dict[int | str, dict[str, Any]] = {
    **errors(409, descriptions={409: "key reused with another body, or still in progress"}),
}


@router.post(
    "/checkouts",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckoutRead,
    responses=IDEMPOTENT,
)
async def create_checkout(
    body: CheckoutCreate,
    idempotency_key: IdempotencyKey,
    caller: CurrentCaller,
    request: Request,
    db: DatabaseDep,
    session: WriteSessionDep,
    providers: ProvidersDep,
    settings: SettingsDep,
) -> Response:
    """One period of a plan: the payment and what the client needs to pay it. With
    ``auto_renew`` (Alipay, sandbox), also an agreement to sign for the periods after it."""
    client_ip = request.client.host if request.client else None

    async def work(record_id: int) -> CheckoutRead:
        return await checkout.create(
            session, providers, settings, user_id=caller.user_id, data=body,
            record_id=record_id, client_ip=client_ip,
        )  # fmt: skip

    return await idempotency.run(
        db, session, settings, user_id=caller.user_id, scope="checkout",
        key=idempotency_key, request=body, work=work,
    )  # fmt: skip


async def _visible_payment(
    session: WriteSessionDep, payment_id: int, caller_id: int
) -> PaymentRead:
    payment = await repository.get(session, payment_id)
    if payment is None:
        raise PaymentNotFound()
    if payment.user_id != caller_id and await refunds.creator_of(session, payment) != caller_id:
        raise PaymentNotFound()
    return checkout.payment_read(payment)


@router.get("/payments/{payment_id}")
async def read_payment(
    payment_id: Id, caller: CurrentCaller, session: WriteSessionDep
) -> PaymentRead:
    """The payer's (or the paid creator's) view of one payment."""
    return await _visible_payment(session, payment_id, caller.user_id)


@router.get("/me/payments")
async def my_payments(
    caller: CurrentCaller,
    session: WriteSessionDep,
    cursors: CursorsDep,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> Page[PaymentRead]:
    after = cursors.decode_optional(cursor)
    rows = await repository.list_for_user(session, caller.user_id, limit + 1, after)
    items = [checkout.payment_read(p) for p in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = cursors.encode(Position(last.created_at, last.id))
    return Page[PaymentRead](items=items, next_cursor=next_cursor)


@router.post(
    "/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundRead,
    responses=IDEMPOTENT,
)
async def create_refund(
    payment_id: Id,
    body: RefundCreate,
    idempotency_key: IdempotencyKey,
    caller: CurrentCaller,
    db: DatabaseDep,
    session: WriteSessionDep,
    providers: ProvidersDep,
    settings: SettingsDep,
) -> Response:
    """The plan's creator refunds all (no ``amount``) or part of a payment, never more in total
    than it."""

    async def work(record_id: int) -> RefundRead:
        payment = await refunds.get_refundable(session, payment_id, caller.user_id)
        return await refunds.create(
            session, providers, settings, payment=payment, caller_id=caller.user_id,
            data=body, record_id=record_id,
        )  # fmt: skip

    return await idempotency.run(
        db, session, settings, user_id=caller.user_id, scope=f"refund:{payment_id}",
        key=idempotency_key, request=body, work=work,
    )  # fmt: skip


@router.get("/payments/{payment_id}/refunds")
async def payment_refunds(
    payment_id: Id, caller: CurrentCaller, session: WriteSessionDep
) -> list[RefundRead]:
    await _visible_payment(session, payment_id, caller.user_id)
    return [refunds.refund_read(r) for r in await repository.refunds_of(session, payment_id)]


@router.post("/sandbox/payments/{ref}/pay", status_code=status.HTTP_202_ACCEPTED)
async def sandbox_pay(
    ref: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")],
    body: SandboxPay,
    caller: CurrentCaller,
    session: WriteSessionDep,
    providers: ProvidersDep,
    settings: SettingsDep,
) -> SandboxPayRead:
    """Development and test only (404 otherwise): the payer settles a sandbox payment (by id or
    out_trade_no); the sandbox then sends its signed notification to the webhook,
    asynchronously."""
    return await sandbox.pay(
        session, providers, settings, ref=ref, caller_id=caller.user_id, outcome=body.outcome
    )


@router.post(
    "/sandbox/payments/agreements/{external_agreement_no}/sign",
    status_code=status.HTTP_202_ACCEPTED,
)
async def sandbox_sign_agreement(
    external_agreement_no: Annotated[str, Path(max_length=64, pattern=r"^[0-9A-Za-z_-]+$")],
    caller: CurrentCaller,
    session: WriteSessionDep,
    providers: ProvidersDep,
    settings: SettingsDep,
) -> dict[str, str]:
    """Development and test only: the reader signs a sandbox recurring-charge agreement."""
    await sandbox.sign_agreement(
        session, providers, settings,
        external_agreement_no=external_agreement_no, caller_id=caller.user_id,
    )  # fmt: skip
    return {"notification": "queued"}


# Answered in each provider's own format (its ack()); not rate limited: providers retry.
@webhook_router.post("/webhooks/{provider}", include_in_schema=True, responses=errors(503))
async def provider_webhook(
    provider: Annotated[str, Path(max_length=32)],
    request: Request,
    session: WriteSessionDep,
    providers: ProvidersDep,
) -> Response:
    """Provider notifications (raw body; no authentication: the signature is the proof).
    Verified, stored once and acknowledged in the provider's own format; processed by a job."""
    ack = await webhooks.receive(
        session, providers, provider, request.headers, await request.body()
    )
    return Response(ack.body, status_code=ack.status, headers=ack.headers)
