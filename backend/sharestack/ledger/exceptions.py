from sharestack.errors import Conflict, InvalidInput, NotFound


class NegativeBalance(Conflict):
    """A posting would take an account below zero where its kind does not allow it."""

    code = "ledger_negative_balance"
    message = "This would take a balance below zero."


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    message = "The available balance does not cover this payout."


class PayoutBelowMinimum(InvalidInput):
    code = "payout_below_minimum"
    message = "The payout is below the minimum amount."


class PaymentNotRecorded(NotFound):
    code = "payment_not_recorded"
    message = "The ledger has no record of this payment."


class RefundExceedsPayment(Conflict):
    code = "refund_exceeds_payment"
    message = "Refunds of a payment cannot exceed its amount."


class PayoutNotFound(NotFound):
    code = "payout_not_found"
    message = "The ledger has no record of this payout."


class PayoutAlreadySettled(Conflict):
    code = "payout_already_settled"
    message = "This payout was settled; it can no longer be reversed."


class PayoutAlreadyReversed(Conflict):
    code = "payout_already_reversed"
    message = "This payout was reversed; it can no longer be settled."


class JournalNotFound(NotFound):
    code = "journal_not_found"
    message = "No such ledger journal."


class AlreadyReversed(Conflict):
    code = "ledger_already_reversed"
    message = "A transfer of this journal has been reversed already."


class JournalConflict(Conflict):
    """A concurrent transaction wrote a conflicting row first (a unique key other than the
    journal's own). Nothing was posted; the caller's transaction must roll back and may retry."""

    code = "ledger_conflict"
    message = "A concurrent ledger posting conflicted with this one; try again."
