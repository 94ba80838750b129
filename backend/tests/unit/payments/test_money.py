from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharestack.payments.providers.money import InvalidAmount, fen_to_yuan, yuan_to_fen


@pytest.mark.parametrize(
    ("fen", "yuan"),
    [(0, "0.00"), (1, "0.01"), (29, "0.29"), (1990, "19.90"), (100000000, "1000000.00")],
)
def test_fen_to_yuan(fen: int, yuan: str) -> None:
    assert fen_to_yuan(fen) == yuan
    assert yuan_to_fen(yuan) == fen


@pytest.mark.parametrize(("yuan", "fen"), [("1", 100), ("1.5", 150), ("0.29", 29), ("88.88", 8888)])
def test_yuan_to_fen_accepts_exact_amounts(yuan: str, fen: int) -> None:
    assert yuan_to_fen(yuan) == fen


@pytest.mark.parametrize(
    "text",
    ["1.001", "abc", "", " 1.00", "1.00 ", "+1.00", "-1.00", "1e2", "01.00", "1.", ".5", "NaN",
     "Infinity", "1,00", "1_000.00", "１.00", "0x10"],
)  # fmt: skip
def test_yuan_to_fen_refuses_anything_inexact(text: str) -> None:
    with pytest.raises(InvalidAmount):
        yuan_to_fen(text)


@pytest.mark.parametrize("fen", [-1, 1.0, True, "100"])
def test_fen_to_yuan_refuses_non_fen(fen: object) -> None:
    with pytest.raises(InvalidAmount):
        fen_to_yuan(fen)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**15))
def test_round_trip(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_two_decimal_strings_parse_to_the_decimal_value(value: Decimal) -> None:
    text = f"{value:.2f}"
    assert yuan_to_fen(text) == int(value * 100)
