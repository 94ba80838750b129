"""The payouts rules, without I/O: masking, the providers' real-name thresholds, the daily
limits, the retry schedule and what a provider's answer means for a payout.

What a transfer state does to a payout (``decide``):

=====================  ====================================================================
provider says          payout
=====================  ====================================================================
succeeded              paid: ``ledger.payouts.settle_payout`` (in transit → paid out)
failed                 failed: ``reverse_payout`` (the money is available again)
cancelled              cancelled: ``reverse_payout``
awaiting_payee         in transit; once ``expires_at`` has passed, ask the provider to cancel
pending, cancelling    in transit; query again later
=====================  ====================================================================

An unclear answer (timeout, 5xx, unverifiable) changes nothing but the schedule: the next attempt
queries first, with the same transfer number, and only a "no such transfer" lets it send again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import orjson

from sharestack.payments.providers._common import CHINA_TZ
from sharestack.payments.providers.transfers import TransferState

if TYPE_CHECKING:
    from sharestack.config import Settings

# WeChat Pay requires the payee's real name from 2,000.00 yuan (wechatpay_transfers); Alipay for
# every transfer to a logon id (alipay_transfers).
WECHATPAY_REAL_NAME_FROM = 200_000
FIRST_RETRY = timedelta(seconds=30)
# How long a claimed payout is left to the worker that claimed it before another may take it.
LEASE = timedelta(minutes=2)

Decision = Literal["settle", "fail", "cancelled", "cancel", "wait"]


@dataclass(frozen=True)
class PayoutPolicy:
    min_amount: int = 1000
    daily_count: int = 5
    daily_amount: int = 5_000_000
    confirm_timeout: timedelta = timedelta(hours=12)
    send_batch: int = 50
    send_concurrency: int = 4
    retry_max: timedelta = timedelta(hours=1)
    # Our public base URL, for the providers' transfer notifications ("" sends none).
    public_base_url: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> PayoutPolicy:
        return cls(
            min_amount=settings.ledger_min_payout_amount,
            daily_count=settings.payout_daily_count_limit,
            daily_amount=settings.payout_daily_amount_limit,
            confirm_timeout=timedelta(seconds=settings.payout_confirm_timeout_seconds),
            send_batch=settings.payout_send_batch,
            send_concurrency=settings.payout_send_concurrency,
            retry_max=timedelta(seconds=settings.payout_retry_max_seconds),
            public_base_url=settings.payments_public_base_url,
        )


def mask_name(name: str | None) -> str | None:
    """``张三丰`` → ``张**``, ``Ada Lovelace`` → ``A** L*******``: enough for the creator to
    recognise their own name, not enough to learn someone else's."""
    if not name:
        return None
    return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())


def name_context(creator_id: int) -> str:
    """What a sealed real name is bound to: it opens only on its own creator's account row."""
    return f"payout_accounts.real_name:{creator_id}"


def mask_identity(identity: str) -> str:
    """Keep the first and last few characters: ``138****5678``, ``ab****@example.com``,
    ``oUpF8****NTfk``."""
    local, at, domain = identity.partition("@")
    if at:
        keep = min(2, max(len(local) - 1, 0))
        return local[:keep] + "*" * max(len(local) - keep, 1) + at + domain
    if len(identity) <= 4:
        return "*" * len(identity)
    keep = 3 if len(identity) <= 11 else 4
    return identity[:keep] + "*" * (len(identity) - 2 * keep) + identity[-keep:]


def needs_real_name(provider: str, identity_type: str, amount: int) -> bool:
    if provider == "wechatpay":
        return amount >= WECHATPAY_REAL_NAME_FROM
    return identity_type == "alipay_logon_id"


def china_day(now: datetime) -> tuple[datetime, datetime]:
    """The Beijing calendar day around ``now``, as aware datetimes (start, end)."""
    local = now.astimezone(CHINA_TZ)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def within_daily_limits(
    policy: PayoutPolicy, count_today: int, amount_today: int, amount: int
) -> bool:
    return count_today + 1 <= policy.daily_count and amount_today + amount <= policy.daily_amount


def retry_delay(attempts: int, cap: timedelta) -> timedelta:
    """30 s, 60 s, 120 s, ... up to ``cap``, after the ``attempts``-th unclear answer."""
    exponent = max(attempts - 1, 0)
    delay: timedelta = FIRST_RETRY * (2 ** min(exponent, 20))
    return min(delay, cap)


def decide(state: TransferState, now: datetime, expires_at: datetime | None) -> Decision:
    if state.status == "succeeded":
        return "settle"
    if state.status == "failed":
        return "fail"
    if state.status == "cancelled":
        return "cancelled"
    if state.status == "awaiting_payee" and expires_at is not None and now >= expires_at:
        return "cancel"
    return "wait"


def request_hash(creator_id: int, body: dict[str, object]) -> str:
    """What identifies "the same request" for an Idempotency-Key: caller and canonical body."""
    canonical = orjson.dumps({"creator_id": creator_id, "body": body}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def payout_key_digest(creator_id: int, idempotency_key: str) -> str:
    """``payouts.idempotency_key``: one payout per (creator, key), 64 hex characters."""
    return hashlib.sha256(f"{creator_id}:{idempotency_key}".encode()).hexdigest()
