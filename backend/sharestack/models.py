"""Imports every domain's models so that ``metadata`` knows all tables (Alembic, tests)."""

from sharestack.auth.models import UserAuth
from sharestack.auth.tokens import AccountToken
from sharestack.content.models import Content, ContentTag, ContentVersion, Tag
from sharestack.db.base import Base
from sharestack.idempotency.models import IdempotencyRecord
from sharestack.jobs.models import OutboxJob
from sharestack.ledger.models import LedgerAccount, LedgerEntry, LedgerJournal, LedgerTransfer
from sharestack.media.models import Media, MediaAccount, MediaBlob, MediaFile, MediaLink
from sharestack.payments.models import (
    Payment,
    PaymentAgreement,
    ProviderEvent,
    Refund,
)
from sharestack.payouts.models import (
    Payout,
    PayoutAccount,
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
