"""Payments, refunds, agreements, provider events and idempotency records. Everything here takes
a ``WriteSession``: money is always read on the primary, where a retry that repeats an
idempotency key must find the first attempt and a transition must see the latest status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sharestack.db.base import utcnow
from sharestack.db.session import WriteSession
from sharestack.metrics.registry import PAYMENTS
from sharestack.pagination import Position
from sharestack.payments.models import (
    Payment,
    PaymentAgreement,
    ProviderEvent,
    Refund,
)
from sharestack.payments.states import (
    AGREEMENT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _insert_ignore(table: Any) -> Any:
    return (
        sa.insert(table)
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("IGNORE", dialect="mariadb")
        .prefix_with("OR IGNORE", dialect="sqlite")
    )


# -- payments ------------------------------------------------------------------------------------


async def add(session: WriteSession, *rows: Payment | Refund | PaymentAgreement) -> None:
    session.add_all(rows)
    await session.flush()


async def get(
    session: WriteSession, payment_id: int, *, for_update: bool = False
) -> Payment | None:
    query = sa.select(Payment).where(Payment.id == payment_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def get_by_out_trade_no(session: WriteSession, out_trade_no: str) -> Payment | None:
    query = sa.select(Payment).where(Payment.out_trade_no == out_trade_no)
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def get_by_idempotency_key(session: WriteSession, key: str) -> Payment | None:
    result = await session.execute(sa.select(Payment).where(Payment.idempotency_key == key))
    return result.scalar_one_or_none()


async def list_for_user(
    session: WriteSession, user_id: int, limit: int = 50, after: Position | None = None
) -> Sequence[Payment]:
    """A payer's payments newest first, keyset-paged on (created_at, id)
    (``ix_payments_user_id_created_at``; InnoDB appends the primary key to the index)."""
    query = sa.select(Payment).where(Payment.user_id == user_id)
    if after is not None:
        query = query.where(
            sa.or_(
                Payment.created_at < after.published_at,
                sa.and_(Payment.created_at == after.published_at, Payment.id < after.id),
            )
        )
    query = query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def transition_payment(
    session: WriteSession, payment: Payment, target: str, **values: Any
) -> bool:
    """``UPDATE payments SET status = target WHERE id = ? AND status IN (sources)``: True for
    the one caller whose update matched."""
    sources = PAYMENT_TRANSITIONS[target]
    result = await session.execute(
        sa.update(Payment)
        .where(Payment.id == payment.id, Payment.status.in_(sorted(sources)))
        .values(status=target, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return False
    PAYMENTS.labels(payment.provider, target).inc()
    return True


async def unsettled(session: WriteSession, older_than: datetime, limit: int) -> Sequence[Payment]:
    """Payments still ``unknown``, or ``pending`` since before ``older_than``, oldest first
    (``ix_payments_status_updated_at``)."""
    query = (
        sa.select(Payment)
        .where(
            sa.or_(
                Payment.status == "unknown",
                sa.and_(Payment.status == "pending", Payment.updated_at < older_than),
            )
        )
        .order_by(Payment.updated_at)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def oldest_unsettled(session: WriteSession) -> dict[str, datetime]:
    """The oldest ``updated_at`` per unsettled status (for the metric behind the alert)."""
    rows = await session.execute(
        sa.select(Payment.status, sa.func.min(Payment.updated_at))
        .where(Payment.status.in_(("unknown", "pending")))
        .group_by(Payment.status)
    )
    return {status: when for status, when in rows.all() if when is not None}


# -- refunds -------------------------------------------------------------------------------------


async def reserve_refund(session: WriteSession, payment_id: int, amount: int) -> bool:
    """Count ``amount`` against the payment, only if what is left covers it. The conditional
    UPDATE re-reads the latest committed row (InnoDB's current read) and locks it until the
    commit, so concurrent refunds queue here and none can push the total past the payment."""
    result = await session.execute(
        sa.update(Payment)
        .where(
            Payment.id == payment_id,
            Payment.status == "succeeded",
            Payment.refunded_amount + amount <= Payment.amount,
        )
        .values(refunded_amount=Payment.refunded_amount + amount, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def release_refund(session: WriteSession, payment_id: int, amount: int) -> None:
    await session.execute(
        sa.update(Payment)
        .where(Payment.id == payment_id, Payment.refunded_amount >= amount)
        .values(refunded_amount=Payment.refunded_amount - amount, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def get_refund(session: WriteSession, refund_id: int) -> Refund | None:
    query = sa.select(Refund).where(Refund.id == refund_id)
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def get_refund_by_number(session: WriteSession, out_refund_no: str) -> Refund | None:
    query = sa.select(Refund).where(Refund.out_refund_no == out_refund_no)
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def refunds_of(session: WriteSession, payment_id: int) -> Sequence[Refund]:
    query = sa.select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)
    return (await session.execute(query)).scalars().all()


async def transition_refund(
    session: WriteSession, refund: Refund, target: str, **values: Any
) -> bool:
    sources = REFUND_TRANSITIONS[target]
    result = await session.execute(
        sa.update(Refund)
        .where(Refund.id == refund.id, Refund.status.in_(sorted(sources)))
        .values(status=target, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def unsettled_refunds(
    session: WriteSession, older_than: datetime, limit: int
) -> Sequence[Refund]:
    query = (
        sa.select(Refund)
        .where(
            sa.or_(
                Refund.status == "unknown",
                sa.and_(Refund.status == "pending", Refund.updated_at < older_than),
            )
        )
        .order_by(Refund.updated_at)
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


# -- agreements ----------------------------------------------------------------------------------


async def get_agreement_by_external(
    session: WriteSession, external_agreement_no: str
) -> PaymentAgreement | None:
    query = sa.select(PaymentAgreement).where(
        PaymentAgreement.external_agreement_no == external_agreement_no
    )
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def signed_agreement_for(
    session: WriteSession, subscription_id: int
) -> PaymentAgreement | None:
    query = (
        sa.select(PaymentAgreement)
        .where(
            PaymentAgreement.subscription_id == subscription_id,
            PaymentAgreement.status == "signed",
        )
        .order_by(PaymentAgreement.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def signed_agreements_for(
    session: WriteSession, subscription_ids: Sequence[int]
) -> dict[int, PaymentAgreement]:
    if not subscription_ids:
        return {}
    query = sa.select(PaymentAgreement).where(
        PaymentAgreement.subscription_id.in_(sorted(subscription_ids)),
        PaymentAgreement.status == "signed",
    )
    found: dict[int, PaymentAgreement] = {}
    for row in (await session.execute(query)).scalars():
        if row.subscription_id not in found or row.id > found[row.subscription_id].id:
            found[row.subscription_id] = row
    return found


async def transition_agreement(
    session: WriteSession, agreement: PaymentAgreement, target: str, **values: Any
) -> bool:
    sources = AGREEMENT_TRANSITIONS[target]
    result = await session.execute(
        sa.update(PaymentAgreement)
        .where(PaymentAgreement.id == agreement.id, PaymentAgreement.status.in_(sorted(sources)))
        .values(status=target, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


# -- provider events -----------------------------------------------------------------------------


async def store_event(session: WriteSession, row: dict[str, Any]) -> int | None:
    """Insert the event once (INSERT IGNORE on (provider, event_key)): its id when this call
    stored it, None when it was a re-delivery of one already stored."""
    result = await session.execute(_insert_ignore(ProviderEvent).values(**row))
    session.info["wrote"] = True
    if _rowcount(result) != 1:
        return None
    query = sa.select(ProviderEvent.id).where(
        ProviderEvent.provider == row["provider"], ProviderEvent.event_key == row["event_key"]
    )
    return int((await session.execute(query)).scalar_one())


async def get_event(session: WriteSession, event_id: int) -> ProviderEvent | None:
    query = sa.select(ProviderEvent).where(ProviderEvent.id == event_id)
    result = await session.execute(query.execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def mark_processed(session: WriteSession, event_id: int, outcome: str) -> None:
    await session.execute(
        sa.update(ProviderEvent)
        .where(ProviderEvent.id == event_id, ProviderEvent.processed_at.is_(None))
        .values(processed_at=utcnow(), outcome=outcome[:64])
        .execution_options(synchronize_session=False)
    )


async def unprocessed_events(session: WriteSession, older_than: datetime, limit: int) -> list[int]:
    query = (
        sa.select(ProviderEvent.id)
        .where(ProviderEvent.processed_at.is_(None), ProviderEvent.received_at < older_than)
        .order_by(ProviderEvent.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars().all())
