"""The stored first answers of money-moving requests (checkouts, refunds, payouts)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sharestack.db.base import (
    TABLE_OPTIONS,
    Base,
    BigIntPK,
    ExactString,
    LongText,
    UTCDateTime,
    closed_set,
    utcnow,
)

IDEMPOTENCY_STATUSES = ("in_progress", "completed")


class IdempotencyRecord(Base):
    """One money-moving request by (caller, scope, Idempotency-Key): the hash of its request and,
    once done, its response. See ``sharestack/idempotency/service.py``."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "scope", "key"),
        sa.Index("ix_idempotency_records_expires_at", "expires_at"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    scope: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # Client-made tokens: compared byte for byte.
    key: Mapped[str] = mapped_column(ExactString(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    status: Mapped[str] = mapped_column(
        closed_set(*IDEMPOTENCY_STATUSES, name="status"), nullable=False, default="in_progress"
    )
    response_status: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(LongText, nullable=True)
    # While in progress: another request may take over after this (its owner died).
    lock_expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
