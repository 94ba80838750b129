"""Fen ↔ yuan, exactly.

Inside ShareStack money is integer fen. Alipay speaks yuan strings with two decimals
(``"12.34"``). The conversion goes through :class:`decimal.Decimal` and a strict pattern, never
through ``float``: ``float("0.29") * 100`` is ``28.999999999999996``, and a notification whose
``total_amount`` reads ``"1.001"``, ``"1e2"``, ``" 1.00"`` or ``"abc"`` is not a price we quoted
and must be refused rather than rounded into one.
"""

from __future__ import annotations

import re
from decimal import Decimal

# Digits, an optional point and at most two decimals; no sign, exponent, spaces or leading zeros.
_YUAN = re.compile(r"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,2})?")


class InvalidAmount(ValueError):
    pass


def fen_to_yuan(fen: int) -> str:
    """``1234`` → ``"12.34"``; ``5`` → ``"0.05"``."""
    if type(fen) is not int or fen < 0:
        raise InvalidAmount(f"fen must be a non-negative int, got {fen!r}")
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(text: str) -> int:
    """``"12.34"`` → ``1234``. Refuses anything that is not an exact yuan amount."""
    if not isinstance(text, str) or _YUAN.fullmatch(text) is None:
        raise InvalidAmount(f"not a yuan amount with at most two decimals: {text!r}")
    fen = Decimal(text) * 100
    assert fen == fen.to_integral_value()  # guaranteed by the pattern
    return int(fen)
