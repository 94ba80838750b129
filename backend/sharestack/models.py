"""Imports every domain's models so that ``metadata`` knows all tables (Alembic, tests)."""

from sharestack.auth.models import UserAuth
from sharestack.auth.tokens import AccountToken
from sharestack.content.models import Content, ContentTag, ContentVersion, Tag
from sharestack.db.base import Base
from sharestack.jobs.models import OutboxJob
from sharestack.ledger.models import LedgerAccount, LedgerEntry, LedgerJournal, LedgerTransfer
from sharestack.payments.models import (
    IdempotencyRecord,
    Payment,
    PaymentAgreement,
    ProviderEvent,
    Refund,
)
from sharestack.payouts.models import (
    Payout,
    PayoutAccount,
    PayoutIdempotencyKey,
    ReconciliationMismatch,
    ReconciliationRun,
)
from sharestack.subscriptions.models import Subscription, SubscriptionEvent, SubscriptionPlan
from sharestack.users.models import User, UserProfile

metadata = Base.metadata

__all__ = [
    "AccountToken",
    "Content",
    "ContentTag",
    "ContentVersion",
    "IdempotencyRecord",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerJournal",
    "LedgerTransfer",
    "OutboxJob",
    "Payment",
    "PaymentAgreement",
    "Payout",
    "PayoutAccount",
    "PayoutIdempotencyKey",
    "ProviderEvent",
    "ReconciliationMismatch",
    "ReconciliationRun",
    "Refund",
    "Subscription",
    "SubscriptionEvent",
    "SubscriptionPlan",
    "Tag",
    "User",
    "UserAuth",
    "UserProfile",
    "metadata",
]
