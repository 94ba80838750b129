"""The reference numbers ShareStack gives providers, in one place, so that the payments domain
(which creates orders and refunds), the payouts domain (which sends transfers) and
reconciliation (which reads statements) can never disagree.

- Checkout orders: ``out_trade_no = "ck" + the checkout's idempotency record id, 12 digits``
  (``ck000000000042``): the record exists before the order does, so a retried checkout asks the
  provider for the same order.
- Renewal charges: ``"rn{subscription}p{period}a{attempt}"``: one number per attempt at one
  period, so a retried charge of the same attempt is deduplicated by the provider.
- Refunds: ``out_refund_no = "rf" + the refund's idempotency record id, 12 digits``.
- Transfers (payouts): ``out_bill_no`` (WeChat Pay) / ``out_biz_no`` (Alipay) =
  ``"ssp" + payout id, 16 digits``. A payout keeps its number for every attempt: the providers
  deduplicate on it, and a retry after an unclear answer must never become a second transfer.

All are letters and digits only, 6-32 characters, inside both providers' limits (WeChat Pay:
6-32 of ``[0-9A-Za-z_-]``; Alipay: up to 64). ``is_ours`` tells a number of ours from one made
by another system on the same merchant account (a statement lists both); the ledger records the
number of each payment and refund it posts (``ledger_journals.external_reference``), which is
what reconciliation matches a statement line against.
"""

from __future__ import annotations

import re
from typing import Literal

_RECORD_DIGITS = 12
_PAYOUT_DIGITS = 16
_TRADE = re.compile(rf"ck[0-9]{{{_RECORD_DIGITS}}}|rn[0-9]+p[0-9]+a[0-9]+")
_REFUND = re.compile(rf"rf[0-9]{{{_RECORD_DIGITS}}}")


def _make(prefix: str, value: int, digits: int) -> str:
    if type(value) is not int or not 0 < value < 10**digits:
        raise ValueError(f"an id is a positive integer below 10**{digits}, not {value!r}")
    return f"{prefix}{value:0{digits}d}"


def checkout_trade_no(record_id: int) -> str:
    return _make("ck", record_id, _RECORD_DIGITS)


def renewal_trade_no(subscription_id: int, period: int, attempt: int) -> str:
    if min(subscription_id, period, attempt) < 0:
        raise ValueError("a renewal number is made of non-negative integers")
    return f"rn{subscription_id}p{period}a{attempt}"


def refund_no(record_id: int) -> str:
    return _make("rf", record_id, _RECORD_DIGITS)


def is_ours(kind: Literal["payment", "refund"], number: str) -> bool:
    """Whether a statement's order (or refund) number is one ShareStack makes."""
    return (_REFUND if kind == "refund" else _TRADE).fullmatch(number) is not None


def webhook_url(public_base_url: str, provider: str) -> str:
    """Where a provider sends its notifications (orders, refunds, transfers)."""
    return f"{public_base_url.rstrip('/')}/api/v1/webhooks/{provider}"


def transfer_no(payout_id: int) -> str:
    return _make("ssp", payout_id, _PAYOUT_DIGITS)


def payout_id_from(transfer_no: str) -> int | None:
    match = re.fullmatch(rf"ssp([0-9]{{{_PAYOUT_DIGITS}}})", transfer_no.strip())
    if match is None:
        return None
    return int(match.group(1)) or None
