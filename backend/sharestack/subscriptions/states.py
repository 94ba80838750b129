"""The subscription state machine: every status change is one of these transitions, applied by
a conditional ``UPDATE ... WHERE status IN (from)`` (``repository.transition``) that also appends
a ``subscription_events`` row. A transition whose from-states no longer hold changes nothing, so
a late or repeated cause (a duplicate notification, a second worker) is a no-op, never a
regression. Pure: no I/O here, unit-tested on its own.

::

    incomplete ──activate──▶ active ──extend──▶ active (a further period paid)
    expired/canceled ─activate─▶ active
    active ──renewal_failed / overdue──▶ past_due ──recover──▶ active
    past_due ──renewal_failed──▶ past_due (another attempt failed)
    active (cancel_at_period_end) ──end_canceled──▶ canceled        (period over)
    active (fixed term) ──end──▶ expired                           (period over)
    past_due ──expire──▶ expired                                   (grace over)
    past_due ──cancel──▶ canceled                                  (reader cancels)
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from sharestack.subscriptions.models import ACCESS_STATUSES, SUBSCRIPTION_STATUSES


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str


def _t(sources: set[str], target: str) -> Transition:
    unknown = (sources | {target}) - set(SUBSCRIPTION_STATUSES)
    assert not unknown, unknown
    return Transition(frozenset(sources), target)


TRANSITIONS: dict[str, Transition] = {
    "activate": _t({"incomplete", "expired", "canceled"}, "active"),
    "extend": _t({"active"}, "active"),
    "recover": _t({"past_due"}, "active"),
    "renewal_failed": _t({"active", "past_due"}, "past_due"),
    "overdue": _t({"active"}, "past_due"),
    "end_canceled": _t({"active"}, "canceled"),
    "end": _t({"active"}, "expired"),
    "expire": _t({"past_due", "incomplete"}, "expired"),
    "cancel": _t({"past_due"}, "canceled"),
}

# Requests that change flags, not the status; logged as events all the same.
FLAG_EVENTS = ("cancel_requested", "resumed", "auto_renew_enabled", "auto_renew_disabled")


def payment_transition(status: str) -> str:
    """Which transition a paid period causes from ``status``."""
    if status == "active":
        return "extend"
    if status == "past_due":
        return "recover"
    return "activate"


def add_interval(start: datetime, interval: str, count: int = 1) -> datetime:
    """``start`` plus ``count`` months or years, on the same day clamped to the month's end
    (31 January + 1 month = 28/29 February)."""
    months = count * (12 if interval == "year" else 1)
    if interval not in ("month", "year"):
        raise ValueError(f"unknown interval {interval!r}")
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def access_until(
    status: str, current_period_end: datetime | None, grace_ends_at: datetime | None
) -> datetime | None:
    """Until when this subscription opens the creator's paywall (None: it does not)."""
    if status not in ACCESS_STATUSES:
        return None
    if status == "past_due":
        return grace_ends_at
    return current_period_end
