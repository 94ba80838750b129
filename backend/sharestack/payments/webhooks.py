"""Provider notifications: verified and stored fast, processed once, in any order.

Receiving (the webhook route, and the sandbox's in-process delivery, through the same
function): the adapter verifies the request (signature, freshness, decryption, our merchant
ids), then the notification is compared with the order, refund or agreement we hold (amount,
currency). A refusal is answered ``ack(False)`` and stores nothing. An accepted event is stored
raw, unique on (provider, event_key), and its processing job is enqueued, in the transaction
that decides the acknowledgement: a re-delivery finds the row and is acknowledged without a
second job; a crash before the commit leaves nothing, and the provider delivers again.

Processing (``process``, a job): the notification says *that* something happened; what
happened is asked of the provider (``query_order`` / ``query_refund``) and applied through the
conditional transitions of ``settlement``. Events of one order may arrive in any order, late or
repeated: each re-query returns the provider's current state and transitions only move forward,
so the final state is the provider's and each real transition happens once. Agreements have no
query in the port; their verified status is applied, forward only.

A replay of a captured request within the adapter's freshness window (300 s for WeChat Pay and
the sandbox) is acknowledged as the duplicate it is and changes nothing; after the window it is
refused as expired.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl

from sharestack.config import Settings
from sharestack.db.after_commit import write_transaction
from sharestack.db.engine import Database
from sharestack.db.session import WriteSession
from sharestack.jobs import outbox
from sharestack.metrics.registry import PAYMENT_NOTIFICATIONS_REJECTED
from sharestack.payments import repository, settlement
from sharestack.payments.exceptions import PaymentNotFound
from sharestack.payments.providers import (
    Ack,
    Notification,
    NotificationRejected,
    OrderNotFound,
    PaymentProvider,
    RefundNotFound,
    RefundState,
    references,
)

logger = logging.getLogger(__name__)

_ALIPAY_AGREEMENT = {"dut_user_sign": "signed", "dut_user_unsign": "unsigned"}


async def _check_against_ours(session: WriteSession, note: Notification) -> None:
    """Refuse a verified notification that does not match what we hold."""
    if note.kind == "payment":
        payment = (
            await repository.get_by_out_trade_no(session, note.out_trade_no)
            if note.out_trade_no
            else None
        )
        if payment is None or payment.provider != note.provider:
            raise NotificationRejected("out_trade_no_mismatch", "no such order here")
        note.verify_against(payment.out_trade_no, payment.amount, payment.currency)
    elif note.kind == "refund":
        refund = (
            await repository.get_refund_by_number(session, note.out_refund_no)
            if note.out_refund_no
            else None
        )
        payment = await repository.get(session, refund.payment_id) if refund else None
        if refund is None or payment is None or payment.provider != note.provider:
            raise NotificationRejected("out_trade_no_mismatch", "no such refund here")
        note.verify_against(payment.out_trade_no, refund.amount, refund.currency)
    else:
        agreement = (
            await repository.get_agreement_by_external(session, note.external_agreement_no)
            if note.external_agreement_no
            else None
        )
        if agreement is None or agreement.provider != note.provider:
            raise NotificationRejected("out_trade_no_mismatch", "no such agreement here")


async def receive(
    session: WriteSession,
    providers: Mapping[str, PaymentProvider],
    name: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Ack:
    """Verify, compare, store once, enqueue processing; the answer the provider expects."""
    provider = providers.get(name)
    if provider is None:
        raise PaymentNotFound("No such payment provider here.")
    try:
        note = provider.parse_notification(headers, body)  # counts its own refusals
    except NotificationRejected:
        return provider.ack(False)
    if note.kind == "transfer":
        return await _transfer_notified(session, provider, note)
    try:
        await _check_against_ours(session, note)
    except NotificationRejected as exc:
        PAYMENT_NOTIFICATIONS_REJECTED.labels(name, exc.reason).inc()
        logger.warning("%s notification refused: %s", name, exc)
        return provider.ack(False)
    event_id = await repository.store_event(
        session,
        {
            "provider": name,
            "event_key": note.event_key[:255],
            "kind": note.kind,
            "out_trade_no": note.out_trade_no,
            "out_refund_no": note.out_refund_no,
            "external_agreement_no": note.external_agreement_no,
            "body": body.decode("utf-8", errors="replace"),
        },
    )
    if event_id is not None:
        await outbox.enqueue(session, "process_provider_event", event_id=event_id)
    return provider.ack(True)


async def _transfer_notified(
    session: WriteSession, provider: PaymentProvider, note: Notification
) -> Ack:
    """A payout's transfer reached a final state at the provider: the payouts domain is asked
    to look at it now (``check_payout``, which queries the provider) instead of at its next
    scheduled look. Nothing is stored: a repeated notification only asks again."""
    payout_id = references.payout_id_from(note.transfer_no or "")
    if payout_id is None:
        PAYMENT_NOTIFICATIONS_REJECTED.labels(note.provider, "out_trade_no_mismatch").inc()
        logger.warning("%s transfer notification for %r refused", note.provider, note.transfer_no)
        return provider.ack(False)
    await outbox.enqueue(session, "check_payout", payout_id=payout_id)
    return provider.ack(True)


async def process(
    db: Database, providers: Mapping[str, PaymentProvider], settings: Settings, event_id: int
) -> str:
    """Apply a stored event: re-query the provider, then transition (see the module doc).
    Raises ``ProviderUnavailable`` to be retried by the job runner."""
    async with write_transaction(db) as session:
        event = await repository.get_event(session, event_id)
    if event is None or event.processed_at is not None:
        return "already_processed"
    provider = providers[event.provider]
    if event.kind == "payment":
        outcome = await _process_payment(db, provider, settings, event.out_trade_no or "")
    elif event.kind == "refund":
        outcome = await _process_refund(db, provider, event.out_refund_no or "")
    else:
        outcome = await _process_agreement(db, provider, event.body, event.external_agreement_no)
    async with write_transaction(db) as session:
        await repository.mark_processed(session, event_id, outcome)
    return outcome


async def settle_payment(
    db: Database, provider: PaymentProvider, settings: Settings, payment_id: int
) -> str:
    """Ask the provider about one payment and apply the answer (reconciliation)."""
    async with write_transaction(db) as session:
        payment = await repository.get(session, payment_id)
    if payment is None:
        return "missing"
    return await _process_payment(db, provider, settings, payment.out_trade_no)


async def _process_payment(
    db: Database, provider: PaymentProvider, settings: Settings, out_trade_no: str
) -> str:
    try:
        state = await provider.query_order(out_trade_no)
    except OrderNotFound:
        state = None
    async with write_transaction(db) as session:
        payment = await repository.get_by_out_trade_no(session, out_trade_no)
        if payment is None:
            return "unknown_order"
        if state is None:
            return await settlement.order_not_found(session, payment, settings)
        return await settlement.apply_order_state(session, payment, state, settings)


async def settle_refund(db: Database, provider: PaymentProvider, refund_id: int) -> str:
    async with write_transaction(db) as session:
        refund = await repository.get_refund(session, refund_id)
    if refund is None:
        return "missing"
    return await _process_refund(db, provider, refund.out_refund_no)


async def _process_refund(db: Database, provider: PaymentProvider, out_refund_no: str) -> str:
    async with write_transaction(db) as session:
        refund = await repository.get_refund_by_number(session, out_refund_no)
        payment = await repository.get(session, refund.payment_id) if refund else None
    if refund is None or payment is None:
        return "unknown_refund"
    try:
        state = await provider.query_refund(payment.out_trade_no, out_refund_no)
    except RefundNotFound:
        # Never made (the request timed out before it arrived): a failed refund.
        state = RefundState(out_refund_no, "failed", "NOT_FOUND")
    async with write_transaction(db) as session:
        fresh = await repository.get_refund(session, refund.id)
        assert fresh is not None
        return await settlement.apply_refund_state(session, fresh, state)


async def _process_agreement(
    db: Database, provider: PaymentProvider, body: str, external_agreement_no: str | None
) -> str:
    # Parsed again from the stored, already verified body, without the freshness check:
    # processing may run after the window (a retried job).
    note = _reparse(provider, body)
    async with write_transaction(db) as session:
        agreement = (
            await repository.get_agreement_by_external(session, external_agreement_no)
            if external_agreement_no
            else None
        )
        if agreement is None or note is None:
            return "unknown_agreement"
        return await settlement.apply_agreement(session, agreement, note[0], note[1])


def _reparse(provider: PaymentProvider, body: str) -> tuple[str, str | None] | None:
    """(status, agreement_no) from a stored agreement notification, verified when received:
    the sandbox's JSON, or Alipay's ``dut_user_sign`` / ``dut_user_unsign`` form."""
    if provider.name == "sandbox":
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return (
            (str(data.get("status")), data.get("agreement_no")) if isinstance(data, dict) else None
        )
    form = dict(parse_qsl(body, keep_blank_values=True))
    status = _ALIPAY_AGREEMENT.get(form.get("notify_type", ""))
    return (status, form.get("agreement_no")) if status else None
