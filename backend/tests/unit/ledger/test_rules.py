"""The ledger's rules without a database: rounding, leg building, who may go negative."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharestack.config import Settings
from sharestack.ledger import rules
from sharestack.ledger.rules import AccountRef, LedgerPolicy, Leg

CNY = "CNY"
PENDING = rules.creator("creator_pending", 7, CNY)
AVAILABLE = rules.creator("creator_available", 7, CNY)
IN_TRANSIT = rules.creator("creator_in_transit", 7, CNY)
CLEARING = rules.clearing("alipay", CNY)
REVENUE = rules.platform("platform_fee_revenue", CNY)


@pytest.mark.parametrize(
    ("gross", "bps", "fee"),
    [
        (1000, 1000, 100),
        (999, 1000, 99),  # 99.9 fen: the fraction stays with the creator
        (1, 1000, 0),
        (19, 500, 0),  # 0.95
        (20, 500, 1),
        (12345, 1234, 1523),  # 1523.373
        (1000, 0, 0),
        (1000, 10_000, 1000),
    ],
)
def test_platform_fee_rounds_down_in_whole_fen(gross: int, bps: int, fee: int) -> None:
    assert rules.platform_fee(gross, bps) == fee


@pytest.mark.parametrize(("gross", "bps"), [(-1, 1000), (100, -1), (100, 10_001)])
def test_platform_fee_refuses_nonsense(gross: int, bps: int) -> None:
    with pytest.raises(ValueError, match="bps"):
        rules.platform_fee(gross, bps)


@given(
    gross=st.integers(1, 10**9),
    bps=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 10**9), min_size=1, max_size=8),
)
def test_refund_fee_shares_add_up_and_never_take_more_than_the_creator_got(
    gross: int, bps: int, cuts: list[int]
) -> None:
    fee = rules.platform_fee(gross, bps)
    refunded = fee_back = creator_back = 0
    for cut in cuts:
        amount = min(cut, gross - refunded)
        if amount == 0:
            break
        share = rules.refund_fee_share(gross, fee, refunded, amount)
        assert 0 <= share <= amount
        refunded += amount
        fee_back += share
        creator_back += amount - share
        # Cumulative, so partial refunds round like the charge did.
        assert fee_back == fee * refunded // gross
        assert creator_back <= gross - fee
    if refunded == gross:
        assert fee_back == fee
        assert creator_back == gross - fee


def test_refund_fee_share_refuses_more_than_the_payment() -> None:
    with pytest.raises(ValueError, match="exceed"):
        rules.refund_fee_share(1000, 100, 900, 101)
    with pytest.raises(ValueError, match="exceed"):
        rules.refund_fee_share(1000, 100, 0, 0)


def test_payment_legs() -> None:
    legs = rules.payment_legs(7, "alipay", CNY, 1000, 100, 6)
    assert legs == [
        Leg("payment_captured", CLEARING, PENDING, 1000),
        Leg("platform_fee", PENDING, REVENUE, 100),
        Leg("processor_fee", rules.platform("processor_fees", CNY), CLEARING, 6),
    ]
    # No fee, no processor fee: one leg.
    assert rules.payment_legs(7, "alipay", CNY, 5, 0, 0) == [
        Leg("payment_captured", CLEARING, PENDING, 5)
    ]


def test_hold_release_legs() -> None:
    assert rules.hold_release_legs(7, CNY, 900) == [Leg("hold_released", PENDING, AVAILABLE, 900)]
    assert rules.hold_release_legs(7, CNY, 0) == []


def test_refund_legs_come_from_pending_or_available() -> None:
    held = rules.refund_legs(
        7, "alipay", CNY, gross=1000, fee=100, refunded_before=0, amount=250, released=False
    )
    assert held == [
        Leg("refund", PENDING, CLEARING, 225),
        Leg("fee_refunded", REVENUE, CLEARING, 25),
    ]
    released = rules.refund_legs(
        7, "alipay", CNY, gross=1000, fee=100, refunded_before=250, amount=750, released=True
    )
    assert released == [
        Leg("refund", AVAILABLE, CLEARING, 675),
        Leg("fee_refunded", REVENUE, CLEARING, 75),
    ]
    # A refund too small to carry a fee share is all the creator's.
    assert rules.refund_legs(
        7, "alipay", CNY, gross=1000, fee=100, refunded_before=0, amount=5, released=False
    ) == [Leg("refund", PENDING, CLEARING, 5)]


def test_payout_legs() -> None:
    assert rules.payout_request_legs(7, CNY, 500) == [
        Leg("payout_requested", AVAILABLE, IN_TRANSIT, 500)
    ]
    assert rules.payout_settlement_legs(7, CNY, 500) == [
        Leg("payout_settled", IN_TRANSIT, rules.platform("payout_clearing", CNY), 500)
    ]
    requested = rules.payout_request_legs(7, CNY, 500)[0]
    assert rules.reversal_leg(requested, 41, "payout_reversed") == Leg(
        "payout_reversed", IN_TRANSIT, AVAILABLE, 500, reverses_transfer_id=41
    )


@pytest.mark.parametrize(
    ("leg", "message"),
    [
        (lambda: Leg("refund", PENDING, CLEARING, 0), "positive"),
        (lambda: Leg("refund", PENDING, CLEARING, -5), "positive"),
        (lambda: Leg("refund", PENDING, CLEARING, True), "positive"),
        (lambda: Leg("refund", PENDING, PENDING, 5), "different"),
        (lambda: Leg("refund", PENDING, rules.clearing("alipay", "USD"), 5), "one currency"),
        (lambda: Leg("gift", PENDING, CLEARING, 5), "kind"),  # type: ignore[arg-type]
    ],
)
def test_a_leg_is_checked_when_built(leg: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        leg()  # type: ignore[operator]


@pytest.mark.parametrize(
    "ref",
    [
        lambda: AccountRef(0, "creator_pending", "", CNY),  # a creator account needs its owner
        lambda: AccountRef(7, "platform_fee_revenue", "", CNY),
        lambda: AccountRef(0, "provider_clearing", "", CNY),  # clearing needs its provider
        lambda: AccountRef(7, "creator_pending", "", "cny"),
        lambda: AccountRef(7, "wallet", "", CNY),
    ],
)
def test_account_refs_fit_their_kind(ref: object) -> None:
    with pytest.raises(ValueError, match=r"kind|currency"):
        ref()  # type: ignore[operator]


def test_which_accounts_may_go_negative() -> None:
    for kind in ("provider_clearing", "processor_fees", "payout_clearing"):
        assert rules.may_go_negative(kind, "payout_settled")
    assert rules.may_go_negative("creator_available", "refund")
    assert not rules.may_go_negative("creator_available", "payout_requested")
    for kind in ("creator_pending", "creator_in_transit", "platform_fee_revenue"):
        assert not rules.may_go_negative(kind, "refund")
        assert not rules.may_go_negative(kind, "reversal")


def test_policy_comes_from_settings() -> None:
    settings = Settings(
        _env_file=None, platform_fee_bps=750, ledger_hold_days=3, ledger_min_payout_amount=5000
    )
    assert LedgerPolicy.from_settings(settings) == LedgerPolicy(
        fee_bps=750, hold_days=3, min_payout_amount=5000, release_batch=200
    )
    assert LedgerPolicy.from_settings(Settings(_env_file=None)) == LedgerPolicy()
