"""The reference numbers ShareStack gives providers, and back: one function per direction, in one
place, so that the payments domain (which creates orders and refunds), the payouts domain (which
sends transfers) and reconciliation (which reads statements) can never disagree.

- Orders: ``out_trade_no = "ss" + payment id, zero-padded to 16 digits`` (``ss0000000000000042``):
  18 characters, inside both providers' limits (WeChat Pay 6-32 of ``[0-9A-Za-z_-]``).
- Refunds: ``out_refund_no = "ssr" + refund id, 16 digits``.
- Transfers (payouts): ``out_bill_no`` (WeChat Pay) / ``out_biz_no`` (Alipay) =
  ``"ssp" + payout id, 16 digits``; letters and digits only, as WeChat Pay requires. A payout
  keeps its number for every attempt: the providers deduplicate on it, and a retry after an
  unclear answer must never become a second transfer.

The parsers return ``None`` for a number that is not ours (a statement also lists orders made by
other systems on the same merchant account).
"""

from __future__ import annotations

import re

_DIGITS = 16
_MAX_ID = 10**_DIGITS - 1


def _make(prefix: str, value: int) -> str:
    if type(value) is not int or not 0 < value <= _MAX_ID:
        raise ValueError(f"an id is a positive integer below 10**{_DIGITS}, not {value!r}")
    return f"{prefix}{value:0{_DIGITS}d}"


def _parse(prefix: str, text: str) -> int | None:
    match = re.fullmatch(rf"{prefix}([0-9]{{{_DIGITS}}})", text.strip())
    if match is None:
        return None
    value = int(match.group(1))
    return value or None


def out_trade_no(payment_id: int) -> str:
    return _make("ss", payment_id)


def payment_id_from(out_trade_no: str) -> int | None:
    return _parse("ss", out_trade_no)


def out_refund_no(refund_id: int) -> str:
    return _make("ssr", refund_id)


def refund_id_from(out_refund_no: str) -> int | None:
    return _parse("ssr", out_refund_no)


def transfer_no(payout_id: int) -> str:
    return _make("ssp", payout_id)


def payout_id_from(transfer_no: str) -> int | None:
    return _parse("ssp", transfer_no)
