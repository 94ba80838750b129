"""The statement parsers on files shaped like the providers' (tests/support/statement_files)."""

from __future__ import annotations

import pytest

from sharestack.payments.providers import references
from sharestack.payments.providers.statements import (
    StatementError,
    parse_alipay_bill,
    parse_wechat_trade_bill,
    parse_yuan,
)
from tests.support.statement_files import Row, alipay_bill_zip, wechat_trade_bill

ROWS = [
    Row(references.checkout_trade_no(1), 1_234),
    Row(references.checkout_trade_no(2), 29),  # 0.29: float("0.29") * 100 is 28.999...
    Row(references.checkout_trade_no(1), 500, refund_no=references.refund_no(7)),
    Row("OTHER-SYSTEM-42", 100_000_00),
]


def _simple(lines: list) -> list[tuple[str, str, int, str | None]]:  # type: ignore[type-arg]
    return [(x.kind, x.out_trade_no, x.amount, x.out_refund_no) for x in lines]


EXPECTED = [
    ("payment", "ck000000000001", 1_234, None),
    ("payment", "ck000000000002", 29, None),
    ("refund", "ck000000000001", 500, "rf000000000007"),
    ("payment", "OTHER-SYSTEM-42", 100_000_00, None),
]


def test_wechat_trade_bill() -> None:
    lines = parse_wechat_trade_bill(wechat_trade_bill(ROWS))
    assert _simple(lines) == EXPECTED
    assert lines[0].provider_ref == "4200" + "0" * 24
    assert lines[0].occurred_at is not None
    assert lines[0].occurred_at.isoformat() == "2026-12-01T02:00:00+00:00"  # 10:00 Beijing


def test_alipay_bill_zip_in_gbk() -> None:
    assert _simple(parse_alipay_bill(alipay_bill_zip(ROWS))) == EXPECTED


@pytest.mark.parametrize(
    ("text", "fen"), [("12.34", 1234), ("0.29", 29), ("-0.07", -7), ("`5", 500), ("1.5", 150)]
)
def test_yuan_amounts_are_exact(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["1.001", "abc", "", "NaN", "Infinity"])
def test_inexact_amounts_are_refused(text: str) -> None:
    with pytest.raises(StatementError):
        parse_yuan(text)


def test_a_bill_without_its_columns_is_refused() -> None:
    with pytest.raises(StatementError):
        parse_wechat_trade_bill("a,b,c\r\n`1,`2,`3\r\n")
    with pytest.raises(StatementError):
        parse_alipay_bill(b"not a zip")


def test_references_are_ours_and_others_are_not() -> None:
    assert references.checkout_trade_no(42) == "ck000000000042"
    assert references.refund_no(7) == "rf000000000007"
    assert references.renewal_trade_no(12, 3, 1) == "rn12p3a1"
    assert references.is_ours("payment", "ck000000000042")
    assert references.is_ours("payment", "rn12p3a1")
    assert references.is_ours("refund", "rf000000000007")
    for foreign in ("ck42", "rf000000000007", "OTHER-SYSTEM-42", "ck000000000042 ", ""):
        assert not references.is_ours("payment", foreign), foreign
    assert not references.is_ours("refund", "ck000000000042")
    assert references.payout_id_from(references.transfer_no(5)) == 5
    assert references.payout_id_from("ssp0000000000000000") is None
    for bad in (0, -1, 10**12, True):
        with pytest.raises(ValueError, match="positive"):
            references.checkout_trade_no(bad)
    with pytest.raises(ValueError, match="non-negative"):
        references.renewal_trade_no(1, -1, 0)
