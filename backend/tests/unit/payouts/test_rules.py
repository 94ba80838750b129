"""The payouts rules without I/O: masking, thresholds, limits, the retry schedule, what a
transfer state decides, and the reconciliation match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sharestack.ledger.reports import LedgerItem
from sharestack.payments.providers import references
from sharestack.payments.providers.transfers import StatementLine, TransferState
from sharestack.payouts import reconciliation, rules

NOW = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 in Beijing


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三丰", "张**"), ("李四", "李*"), ("Ada Lovelace", "A** L*******"), (None, None)],
)
def test_names_are_masked(name: str | None, masked: str | None) -> None:
    assert rules.mask_name(name) == masked


@pytest.mark.parametrize(
    ("identity", "masked"),
    [
        ("13800138000", "138*****000"),
        ("creator@example.com", "cr*****@example.com"),
        ("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oUpF********************eS6o"),
        ("abc", "***"),
    ],
)
def test_identities_are_masked(identity: str, masked: str) -> None:
    assert rules.mask_identity(identity) == masked


def test_real_name_thresholds() -> None:
    assert not rules.needs_real_name("wechatpay", "openid", 199_999)
    assert rules.needs_real_name("wechatpay", "openid", 200_000)
    assert rules.needs_real_name("alipay", "alipay_logon_id", 1)
    assert not rules.needs_real_name("alipay", "alipay_user_id", 10**9)


def test_the_day_is_beijing_time() -> None:
    start, end = rules.china_day(NOW)
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def test_daily_limits() -> None:
    policy = rules.PayoutPolicy(daily_count=2, daily_amount=10_000)
    assert rules.within_daily_limits(policy, 1, 5_000, 5_000)
    assert not rules.within_daily_limits(policy, 2, 0, 1)
    assert not rules.within_daily_limits(policy, 0, 5_000, 5_001)


def test_retry_schedule_doubles_to_its_cap() -> None:
    cap = timedelta(minutes=10)
    delays = [rules.retry_delay(n, cap).total_seconds() for n in range(1, 8)]
    assert delays == [30, 60, 120, 240, 480, 600, 600]


def _state(status: str) -> TransferState:
    return TransferState("ssp0000000000000001", status, status.upper())  # type: ignore[arg-type]


def test_decisions() -> None:
    soon, past = NOW + timedelta(hours=1), NOW - timedelta(seconds=1)
    assert rules.decide(_state("succeeded"), NOW, None) == "settle"
    assert rules.decide(_state("failed"), NOW, None) == "fail"
    assert rules.decide(_state("cancelled"), NOW, None) == "cancelled"
    assert rules.decide(_state("awaiting_payee"), NOW, soon) == "wait"
    assert rules.decide(_state("awaiting_payee"), NOW, past) == "cancel"
    assert rules.decide(_state("cancelling"), NOW, past) == "wait"
    assert rules.decide(_state("pending"), NOW, past) == "wait"


def test_request_hash_ignores_key_order() -> None:
    assert rules.request_hash(1, {"a": 1, "b": 2}) == rules.request_hash(1, {"b": 2, "a": 1})
    assert rules.request_hash(1, {"a": 1}) != rules.request_hash(2, {"a": 1})


def _line(payment_id: int, amount: int) -> StatementLine:
    return StatementLine("wechatpay", "payment", references.checkout_trade_no(payment_id), amount)


def _item(payment_id: int, amount: int, at: datetime = NOW) -> LedgerItem:
    reference = references.checkout_trade_no(payment_id)
    return LedgerItem("payment", payment_id, None, "CNY", amount, at, reference)


def test_match_finds_each_kind_of_difference() -> None:
    window = (NOW - timedelta(hours=12), NOW + timedelta(hours=12))
    lines = [
        _line(1, 100),
        _line(2, 200),
        _line(3, 300),
        _line(5, 500),
        StatementLine("wechatpay", "payment", "NOT-OURS", 1),
    ]
    in_window = [_item(1, 100), _item(2, 250), _item(4, 400)]
    elsewhere = [_item(5, 500, NOW - timedelta(days=1))]
    found = reconciliation.match(lines, in_window, elsewhere, window)
    assert [(m.kind, m.reference) for m in found.mismatches] == [
        ("amount_mismatch", "ck000000000002"),
        ("missing_in_ledger", "ck000000000003"),
        ("missing_in_statement", "ck000000000004"),
    ]
    assert (found.lines, found.foreign_lines) == (4, 1)
    assert found.matched_elsewhere == ["ck000000000005"]
