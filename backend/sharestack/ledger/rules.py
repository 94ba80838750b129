"""The ledger's rules, without I/O: which accounts a flow touches, how much moves, who may go
negative. The flows (``earnings``, ``payouts``) read the state under lock, then build their legs
here, so every amount and direction is unit-tested on its own.

Rounding: the platform fee is ``floor(gross * bps / 10000)`` in minor units (fen): a fraction of a
fen always stays with the creator. A refund returns the fee pro rata, cumulatively: after refunds
totalling ``r`` of a payment, the platform has given back ``floor(fee * r / gross)``, so partial
refunds round the same way as the charge and a full refund returns exactly the fee. The creator's
cumulative share of refunds never exceeds what the payment earned them (gross - fee).

Processor fees are the platform's cost: recorded, never charged to the creator, and not returned
on a refund (providers keep their fee).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sharestack.ledger.models import (
    ACCOUNT_KINDS,
    CREATOR_KINDS,
    PLATFORM_KINDS,
    PLATFORM_OWNER,
    TRANSFER_KINDS,
)

if TYPE_CHECKING:
    from sharestack.config import Settings

AccountKind = Literal[
    "creator_pending",
    "creator_available",
    "creator_in_transit",
    "provider_clearing",
    "platform_fee_revenue",
    "processor_fees",
    "payout_clearing",
]
TransferKind = Literal[
    "payment_captured",
    "platform_fee",
    "processor_fee",
    "hold_released",
    "refund",
    "fee_refunded",
    "payout_requested",
    "payout_settled",
    "payout_reversed",
    "reversal",
]
JournalKind = Literal[
    "payment",
    "hold_release",
    "refund",
    "payout_request",
    "payout_settlement",
    "payout_reversal",
    "reversal",
]

BPS = 10_000

# Accounts whose balance may have either sign: they mirror money held outside (a provider's
# clearing, the payouts sent) or an expense.
ANY_SIGN: frozenset[str] = frozenset({"provider_clearing", "processor_fees", "payout_clearing"})
# creator_available may go below zero only by a refund of money already released (the creator
# may have been paid it out); payouts are then refused until it is positive again.
NEGATIVE_BY: dict[str, frozenset[str]] = {"creator_available": frozenset({"refund"})}
# What check_invariants accepts as negative: the above.
MAY_BE_NEGATIVE: frozenset[str] = ANY_SIGN | frozenset(NEGATIVE_BY)


def may_go_negative(account_kind: str, transfer_kind: str) -> bool:
    """Whether a transfer of this kind may leave this account below zero. Every other account
    (pending, in transit, fee revenue) never goes negative: a posting that would is refused."""
    return account_kind in ANY_SIGN or transfer_kind in NEGATIVE_BY.get(account_kind, ())


@dataclass(frozen=True, order=True)
class AccountRef:
    """Names an account by its natural key; ordered like the unique index."""

    owner_id: int
    kind: str
    provider: str
    currency: str

    def __post_init__(self) -> None:
        if self.kind not in ACCOUNT_KINDS:
            raise ValueError(f"unknown account kind {self.kind!r}")
        if len(self.currency) != 3 or not self.currency.isascii() or not self.currency.isupper():
            raise ValueError(f"currency must be an ISO 4217 code, not {self.currency!r}")
        if self.kind in CREATOR_KINDS:
            ok = self.owner_id > 0 and self.provider == ""
        elif self.kind in PLATFORM_KINDS:
            ok = self.owner_id == PLATFORM_OWNER and self.provider == ""
        else:
            ok = self.owner_id == PLATFORM_OWNER and 0 < len(self.provider) <= 32
        if not ok:
            raise ValueError(f"owner/provider do not fit the account kind: {self}")


def creator(kind: AccountKind, creator_id: int, currency: str) -> AccountRef:
    return AccountRef(creator_id, kind, "", currency)


def platform(kind: AccountKind, currency: str) -> AccountRef:
    return AccountRef(PLATFORM_OWNER, kind, "", currency)


def clearing(provider: str, currency: str) -> AccountRef:
    return AccountRef(PLATFORM_OWNER, "provider_clearing", provider, currency)


@dataclass(frozen=True)
class Leg:
    """One transfer of a journal: ``amount`` (> 0) from ``debit`` to ``credit``."""

    kind: TransferKind
    debit: AccountRef
    credit: AccountRef
    amount: int
    reverses_transfer_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in TRANSFER_KINDS:
            raise ValueError(f"unknown transfer kind {self.kind!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError(f"a transfer moves a positive integer amount, not {self.amount!r}")
        if self.debit == self.credit:
            raise ValueError("a transfer needs two different accounts")
        if self.debit.currency != self.credit.currency:
            raise ValueError("a transfer moves one currency")

    @property
    def currency(self) -> str:
        return self.debit.currency


@dataclass(frozen=True)
class LedgerPolicy:
    """The configurable numbers (``PLATFORM_FEE_BPS``, ``LEDGER_HOLD_DAYS``,
    ``LEDGER_MIN_PAYOUT_AMOUNT``, ``LEDGER_RELEASE_BATCH``)."""

    fee_bps: int = 1000
    hold_days: int = 7
    min_payout_amount: int = 1000
    release_batch: int = 200

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LedgerPolicy:
        if settings is None:
            from sharestack.config import get_settings

            settings = get_settings()
        return cls(
            fee_bps=settings.platform_fee_bps,
            hold_days=settings.ledger_hold_days,
            min_payout_amount=settings.ledger_min_payout_amount,
            release_batch=settings.ledger_release_batch,
        )


def platform_fee(gross: int, bps: int) -> int:
    """floor(gross * bps / 10000): the fraction of a fen stays with the creator."""
    if gross < 0 or not 0 <= bps <= BPS:
        raise ValueError("gross must be >= 0 and bps within 0..10000")
    return gross * bps // BPS


def refund_fee_share(gross: int, fee: int, refunded_before: int, amount: int) -> int:
    """The part of a refund of ``amount`` that the platform gives back from its fee, given that
    ``refunded_before`` of this payment was refunded already (see the module docstring)."""
    if not 0 < amount <= gross - refunded_before or refunded_before < 0:
        raise ValueError("refunds of a payment cannot exceed its gross amount")
    return fee * (refunded_before + amount) // gross - fee * refunded_before // gross


def payment_legs(
    creator_id: int,
    provider: str,
    currency: str,
    gross_amount: int,
    fee_amount: int,
    processor_fee_amount: int,
) -> list[Leg]:
    """Capture: the provider owes us the gross, all of it pending for the creator; the platform
    takes its fee from pending; the provider's fee is our expense, settled from clearing."""
    pending = creator("creator_pending", creator_id, currency)
    legs = [Leg("payment_captured", clearing(provider, currency), pending, gross_amount)]
    if fee_amount > 0:
        legs.append(
            Leg("platform_fee", pending, platform("platform_fee_revenue", currency), fee_amount)
        )
    if processor_fee_amount > 0:
        legs.append(
            Leg(
                "processor_fee",
                platform("processor_fees", currency),
                clearing(provider, currency),
                processor_fee_amount,
            )
        )
    return legs


def hold_release_legs(creator_id: int, currency: str, still_pending: int) -> list[Leg]:
    """Whatever of the payment is still pending (refunds may have taken some or all of it)."""
    if still_pending <= 0:
        return []
    return [
        Leg(
            "hold_released",
            creator("creator_pending", creator_id, currency),
            creator("creator_available", creator_id, currency),
            still_pending,
        )
    ]


def refund_legs(
    creator_id: int,
    provider: str,
    currency: str,
    *,
    gross: int,
    fee: int,
    refunded_before: int,
    amount: int,
    released: bool,
) -> list[Leg]:
    """The money goes back to the provider (which returns it to the reader): the creator's share
    from pending while the payment is held, from available once released; the fee share from
    the platform's revenue."""
    fee_share = refund_fee_share(gross, fee, refunded_before, amount)
    source = creator("creator_available" if released else "creator_pending", creator_id, currency)
    back = clearing(provider, currency)
    legs = []
    if amount - fee_share > 0:
        legs.append(Leg("refund", source, back, amount - fee_share))
    if fee_share > 0:
        legs.append(
            Leg("fee_refunded", platform("platform_fee_revenue", currency), back, fee_share)
        )
    return legs


def payout_request_legs(creator_id: int, currency: str, amount: int) -> list[Leg]:
    return [
        Leg(
            "payout_requested",
            creator("creator_available", creator_id, currency),
            creator("creator_in_transit", creator_id, currency),
            amount,
        )
    ]


def payout_settlement_legs(creator_id: int, currency: str, amount: int) -> list[Leg]:
    """The money left: in transit moves to the payouts clearing account, which the payout
    provider's statements reconcile against."""
    return [
        Leg(
            "payout_settled",
            creator("creator_in_transit", creator_id, currency),
            platform("payout_clearing", currency),
            amount,
        )
    ]


def reversal_leg(original: Leg, transfer_id: int, kind: TransferKind = "reversal") -> Leg:
    """Undoes a transfer: same amount, debit and credit swapped, pointing at the original."""
    return Leg(kind, original.credit, original.debit, original.amount, transfer_id)
