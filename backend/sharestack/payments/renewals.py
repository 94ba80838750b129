"""Charging due renewals through signed agreements. Any number of workers may run
:func:`charge_due` at once: claims are taken by ``subscriptions.renewal.claim_due`` (disjoint
batches, conditional claims), and the pending renewal payment is inserted in the claim's
transaction under an order number derived from (subscription, period, attempt), unique, so a
period is charged at most once per attempt and an attempt at most once. The charge itself runs
after that commit, outside any transaction; its answer is applied through ``settlement`` (once).
A timeout leaves the payment ``unknown`` for the reconciliation job, and nothing else is due
for that subscription until it is settled."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sharestack.config import Settings
from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.metrics.registry import RENEWALS
from sharestack.payments import repository, settlement
from sharestack.payments.checkout import notify_url
from sharestack.payments.models import Payment
from sharestack.payments.providers import (
    OrderState,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    references,
)
from sharestack.subscriptions import service as subscriptions_service

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Charge:
    payment_id: int
    provider: str
    agreement_no: str
    out_trade_no: str
    amount: int
    description: str


async def _claim(db: Database, settings: Settings, limit: int) -> tuple[int, list[Charge]]:
    """(claims taken, the charges to make for them)."""
    charges: list[Charge] = []
    async with write_transaction(db) as session:
        claims = await subscriptions_service.claim_due(session, utcnow(), limit)
        agreements = await repository.signed_agreements_for(
            session, [c.subscription_id for c in claims]
        )
        for claim in claims:
            out_trade_no = references.renewal_trade_no(
                claim.subscription_id, claim.period, claim.attempt
            )
            payment = Payment(
                user_id=claim.subscriber_id,
                subscription_id=claim.subscription_id,
                kind="renewal",
                amount=claim.amount,
                currency=claim.currency,
                refunded_amount=0,
                status="pending",
                out_trade_no=out_trade_no,
                idempotency_key=f"renewal:{out_trade_no}",
                provider="",
            )
            agreement = agreements.get(claim.subscription_id)
            if agreement is None or agreement.max_amount < claim.amount:
                # No usable agreement: this attempt fails without a charge.
                payment.provider = agreement.provider if agreement else "none"
                payment.status = "failed"
                await repository.add(session, payment)
                await subscriptions_service.renewal_failed(
                    session, claim.subscription_id, payment.id, settings
                )
                RENEWALS.labels(payment.provider, "failed").inc()
                continue
            payment.provider = agreement.provider
            await repository.add(session, payment)
            assert agreement.agreement_no is not None
            charges.append(
                Charge(
                    payment.id,
                    agreement.provider,
                    agreement.agreement_no,
                    out_trade_no,
                    claim.amount,
                    claim.plan_name[:100],
                )
            )
    return len(claims), charges


async def _charge(
    db: Database, providers: dict[str, PaymentProvider], settings: Settings, charge: Charge
) -> str:
    provider = providers.get(charge.provider)
    state: OrderState | None = None
    try:
        if provider is None:
            raise ProviderUnavailable(f"{charge.provider} is not configured in this process")
        state = await provider.charge_agreement(
            charge.agreement_no,
            charge.out_trade_no,
            charge.amount,
            description=charge.description,
            notify_url=notify_url(settings, charge.provider),
        )
    except ProviderUnavailable:
        state = None
    except ProviderError as exc:
        logger.warning("renewal charge refused: %s", exc)
        state = OrderState(charge.out_trade_no, "failed", "REFUSED")
    async with write_transaction(db) as session:
        payment = await repository.get(session, charge.payment_id)
        assert payment is not None
        if state is None:
            await repository.transition_payment(session, payment, "unknown")
            outcome = "unknown"
        else:
            outcome = await settlement.apply_order_state(session, payment, state, settings)
    label = {"succeeded": "charged", "failed": "failed", "unknown": "unknown"}.get(
        outcome, "pending"
    )
    RENEWALS.labels(charge.provider, label).inc()
    return label


async def charge_due(
    db: Database, providers: dict[str, PaymentProvider], settings: Settings, batch: int = 50
) -> dict[str, int]:
    """Claim and charge due renewals until none is left; counts by outcome."""
    counts: dict[str, int] = {}
    while True:
        claimed, charges = await _claim(db, settings, batch)
        if not claimed:
            return counts
        for charge in charges:
            outcome = await _charge(db, providers, settings, charge)
            counts[outcome] = counts.get(outcome, 0) + 1
