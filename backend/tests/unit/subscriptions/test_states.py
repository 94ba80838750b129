"""The state machines on their own: closed sets, forward-only payments, interval arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sharestack.payments.models import PAYMENT_STATUSES
from sharestack.payments.states import PAYMENT_TRANSITIONS, REFUND_TRANSITIONS
from sharestack.subscriptions.models import SUBSCRIPTION_STATUSES
from sharestack.subscriptions.states import (
    TRANSITIONS,
    access_until,
    add_interval,
    payment_transition,
)


def test_transitions_stay_inside_the_closed_sets() -> None:
    for step in TRANSITIONS.values():
        assert step.sources <= set(SUBSCRIPTION_STATUSES)
        assert step.target in SUBSCRIPTION_STATUSES
    for target, sources in PAYMENT_TRANSITIONS.items():
        assert {target, *sources} <= set(PAYMENT_STATUSES)


def test_settled_payments_and_refunds_never_move() -> None:
    for table in (PAYMENT_TRANSITIONS, REFUND_TRANSITIONS):
        for sources in table.values():
            assert "succeeded" not in sources
            assert "failed" not in sources


@pytest.mark.parametrize(
    ("status", "transition"),
    [("incomplete", "activate"), ("expired", "activate"), ("canceled", "activate"),
     ("active", "extend"), ("past_due", "recover")],
)  # fmt: skip
def test_a_paid_period_from_each_status(status: str, transition: str) -> None:
    assert payment_transition(status) == transition
    assert status in TRANSITIONS[transition].sources


def test_months_clamp_to_the_end_of_the_month() -> None:
    jan31 = datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert add_interval(jan31, "month") == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert add_interval(datetime(2028, 2, 29, tzinfo=UTC), "year") == datetime(
        2029, 2, 28, tzinfo=UTC
    )
    assert add_interval(datetime(2027, 12, 15, tzinfo=UTC), "month") == datetime(
        2028, 1, 15, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="interval"):
        add_interval(jan31, "week")


def test_access_until() -> None:
    end, grace = datetime.now(UTC), datetime.now(UTC) + timedelta(days=3)
    assert access_until("active", end, None) == end
    assert access_until("past_due", end, grace) == grace
    assert access_until("canceled", end, grace) is None
    assert access_until("expired", end, None) is None
