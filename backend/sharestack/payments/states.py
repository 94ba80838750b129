"""The payment and refund state machines. A change is a conditional
``UPDATE ... WHERE status IN (sources)`` (``repository.transition_payment`` /
``transition_refund``): of two concurrent reports of one outcome (a notification, a query, a
renewal worker) exactly one matches, and only that one applies the effects (a paid period, a
released refund reservation). Nothing moves backwards: ``succeeded`` and ``failed`` are final.

::

    payment: pending ──▶ succeeded | failed | unknown
             unknown ──▶ succeeded | failed | pending   (a query settled what a timeout left open)
    refund:  pending ──▶ succeeded | failed | unknown
             unknown ──▶ succeeded | failed
"""

from __future__ import annotations

from sharestack.payments.models import PAYMENT_STATUSES, REFUND_STATUSES

PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "succeeded": frozenset({"pending", "unknown"}),
    "failed": frozenset({"pending", "unknown"}),
    "unknown": frozenset({"pending"}),
    "pending": frozenset({"unknown"}),
}

REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    "succeeded": frozenset({"pending", "unknown"}),
    "failed": frozenset({"pending", "unknown"}),
    "unknown": frozenset({"pending"}),
}

# A provider's order status (the port's vocabulary) as our payment status.
ORDER_OUTCOMES = {"succeeded": "succeeded", "failed": "failed", "closed": "failed"}

AGREEMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "signed": frozenset({"pending"}),
    "unsigned": frozenset({"pending", "signed"}),
}

assert set(PAYMENT_TRANSITIONS) <= set(PAYMENT_STATUSES)
assert set(REFUND_TRANSITIONS) <= set(REFUND_STATUSES)
