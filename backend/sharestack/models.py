"""Imports every domain's models so that ``metadata`` knows all tables (Alembic, tests)."""

from sharestack.auth.models import UserAuth
from sharestack.content.models import Content, ContentTag, ContentVersion, Tag
from sharestack.db.base import Base
from sharestack.jobs.models import OutboxJob
from sharestack.ledger.models import LedgerAccount, LedgerEntry, LedgerJournal, LedgerTransfer
from sharestack.media.models import Media, MediaAccount, MediaBlob, MediaFile, MediaLink
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
    "Content",
    "ContentTag",
    "ContentVersion",
    "IdempotencyRecord",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerJournal",
    "LedgerTransfer",
    "Media",
    "MediaAccount",
    "MediaBlob",
    "MediaFile",
    "MediaLink",
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
