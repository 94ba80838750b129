"""Sending payouts: the job's body. One run claims the due payouts, calls the providers outside
any transaction, then records each answer in a transaction of its own.

1. Claim (one transaction): due payouts (``next_attempt_at <= now``) are locked with ``SKIP
   LOCKED``, their ``attempts`` counted and ``next_attempt_at`` pushed ``rules.LEASE`` ahead, so
   another worker leaves them alone while this one talks to the provider. A worker that dies
   mid-call loses nothing: the lease runs out and the next attempt starts by querying.
2. Call: the first attempt sends the transfer. Every later attempt queries first, with the same
   transfer number (``references.transfer_no``); only "no such transfer" sends it again, so an
   answer lost to a timeout never becomes a second transfer. An unconfirmed WeChat Pay transfer
   past ``expires_at`` is cancelled.
3. Record (one transaction per payout, under the payout's row lock): ``rules.decide`` turns the
   state into a settlement, a reversal or another look later; an unclear answer only moves the
   schedule (30 s, doubling, up to ``PAYOUT_RETRY_MAX_SECONDS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sharestack.db.after_commit import write_transaction
from sharestack.db.base import utcnow
from sharestack.db.engine import Database
from sharestack.db.session import WriteSession
from sharestack.ledger import payouts as ledger_payouts
from sharestack.payments.providers import references
from sharestack.payments.providers.base import (
    ProviderRejected,
    ProviderUnavailable,
    UnsupportedOperation,
)
from sharestack.payments.providers.transfers import (
    TransferNotFound,
    TransferProvider,
    TransferRequest,
    TransferState,
)
from sharestack.payouts import repository, rules
from sharestack.payouts.models import FINAL_PAYOUT_STATUSES, Payout
from sharestack.payouts.rules import PayoutPolicy
from sharestack.sealing import Sealer, SealError

logger = logging.getLogger(__name__)

REMARK = "ShareStack 创作收益"
# Verified refusals after which nothing happened and trying later may work: the merchant's
# balance or rate limits, not the payee.
RETRY_LATER = frozenset(
    {
        "NOT_ENOUGH",
        "PAYER_BALANCE_NOT_ENOUGH",
        "BALANCE_IS_NOT_ENOUGH",
        "FREQUENCY_LIMITED",
        "SYSTEM_ERROR",
    }
)


@dataclass(frozen=True)
class Claim:
    payout_id: int
    provider: str
    first_attempt: bool
    expires_at: datetime | None
    request: TransferRequest


@dataclass(frozen=True)
class Answer:
    state: TransferState | None = None
    unclear: str | None = None  # why the outcome is unknown
    refused: str | None = None  # a verified refusal: the transfer did not happen


@dataclass
class SendReport:
    claimed: int = 0
    paid: int = 0
    reversed: int = 0
    waiting: int = 0
    unclear: int = 0


async def send_due(
    db: Database,
    providers: Mapping[str, TransferProvider],
    policy: PayoutPolicy,
    sealer: Sealer,
    now: datetime | None = None,
) -> SendReport:
    now = now or utcnow()
    claims = await _claim(db, policy, sealer, now)
    report = SendReport(claimed=len(claims))
    gate = asyncio.Semaphore(policy.send_concurrency)

    async def one(claim: Claim) -> None:
        async with gate:
            answer = await _call(providers.get(claim.provider), claim, now)
        outcome = await _record(db, claim, answer, policy, now)
        setattr(report, outcome, getattr(report, outcome) + 1)

    await asyncio.gather(*(one(c) for c in claims))
    return report


async def _claim(db: Database, policy: PayoutPolicy, sealer: Sealer, now: datetime) -> list[Claim]:
    claims = []
    async with write_transaction(db) as session:
        for payout in await repository.claim_due(session, now, policy.send_batch):
            account = (
                await repository.get_account(session, payout.payout_account_id)
                if payout.payout_account_id is not None
                else None
            )
            if account is None:  # pragma: no cover - every payout is made for an account
                logger.error("payout %s has no payout account", payout.id)
                payout.next_attempt_at = None
                continue
            payout.next_attempt_at = now + rules.LEASE
            payout.updated_at = now
            try:
                real_name = (
                    sealer.open(
                        account.real_name_sealed, context=rules.name_context(account.creator_id)
                    )
                    if account.real_name_sealed
                    else None
                )
            except SealError:
                # Nothing is sent without the name the provider checks; the lease brings it
                # back once the key that sealed it is configured again.
                logger.error("payout %s: the payee's name does not open", payout.id, exc_info=True)
                continue
            first = payout.attempts == 0 and payout.sent_at is None
            payout.attempts += 1
            request = TransferRequest(
                transfer_no=references.transfer_no(payout.id),
                amount=payout.amount,
                identity=account.identity,
                identity_type=account.identity_type,  # type: ignore[arg-type]
                remark=REMARK,
                real_name=real_name,
                notify_url=_notify_url(policy, payout.provider),
                currency=payout.currency,
            )
            claims.append(Claim(payout.id, payout.provider, first, payout.expires_at, request))
    return claims


def _notify_url(policy: PayoutPolicy, provider: str) -> str | None:
    """WeChat Pay notifies a transfer's final state (``MCHTRANSFER.BILL.FINISHED``), which makes
    the payout due at once (``check_payout``); Alipay and the sandbox are queried only."""
    if provider != "wechatpay" or not policy.public_base_url:
        return None
    return references.webhook_url(policy.public_base_url, provider)


async def _call(provider: TransferProvider | None, claim: Claim, now: datetime) -> Answer:
    if provider is None:
        return Answer(unclear=f"provider {claim.provider!r} is not configured")
    number = claim.request.transfer_no
    try:
        if claim.first_attempt:
            state = await provider.transfer(claim.request)
        else:
            try:
                state = await provider.query_transfer(number)
            except TransferNotFound:
                # The earlier attempt never reached the provider: send it, same number.
                state = await provider.transfer(claim.request)
        if rules.decide(state, now, claim.expires_at) == "cancel":
            with contextlib.suppress(UnsupportedOperation):
                state = await provider.cancel_transfer(number)
    except ProviderUnavailable as exc:
        return Answer(unclear=str(exc)[:200])
    except ProviderRejected as exc:
        if exc.code in RETRY_LATER:
            return Answer(unclear=f"{exc.code}: {exc.message}"[:200])
        return Answer(refused=f"{exc.code}: {exc.message}"[:255])
    return Answer(state=state)


async def _record(
    db: Database, claim: Claim, answer: Answer, policy: PayoutPolicy, now: datetime
) -> str:
    async with write_transaction(db) as session:
        payout = await repository.get_payout(session, claim.payout_id, for_update=True)
        if payout is None or payout.status in FINAL_PAYOUT_STATUSES:
            return "waiting"  # pragma: no cover - another worker finished it meanwhile
        payout.updated_at = now
        state = answer.state
        if state is not None and state.amount is not None and state.amount != payout.amount:
            logger.error(
                "payout %s: the provider reports %s, not %s", payout.id, state.amount, payout.amount
            )
            state, answer = None, Answer(unclear="amount differs at the provider")
        if state is None and answer.refused is None:
            logger.warning("payout %s: outcome unclear: %s", payout.id, answer.unclear)
            payout.next_attempt_at = now + rules.retry_delay(payout.attempts, policy.retry_max)
            return "unclear"
        if state is None:
            payout.provider_status = "REFUSED"
            return await _reverse(session, payout, "failed", answer.refused, now)
        payout.provider_status = state.provider_status[:32]
        payout.provider_ref = state.provider_ref or payout.provider_ref
        payout.sent_at = payout.sent_at or now
        if state.status == "awaiting_payee":
            payout.package_info = state.package_info or payout.package_info
            if payout.expires_at is None:
                payout.expires_at = now + policy.confirm_timeout
        decision = rules.decide(state, now, payout.expires_at)
        if decision == "settle":
            await ledger_payouts.settle_payout(session, payout.id)
            payout.status, payout.package_info = "paid", None
            payout.paid_at = payout.finished_at = state.finished_at or now
            payout.next_attempt_at = None
            return "paid"
        if decision in ("fail", "cancelled"):
            final = "failed" if decision == "fail" else "cancelled"
            return await _reverse(session, payout, final, state.failure_reason, now)
        payout.status = "in_transit"
        delay = rules.retry_delay(payout.attempts, policy.retry_max)
        upcoming = now + delay
        if payout.expires_at is not None and state.status == "awaiting_payee":
            upcoming = min(upcoming, max(payout.expires_at, now))
        payout.next_attempt_at = upcoming
        return "waiting"


async def _reverse(
    session: WriteSession, payout: Payout, status: str, reason: str | None, now: datetime
) -> str:
    await ledger_payouts.reverse_payout(session, payout.id)
    payout.status = status
    payout.failure_reason = (reason or status)[:255]
    payout.package_info = None
    payout.finished_at = now
    payout.next_attempt_at = None
    return "reversed"
