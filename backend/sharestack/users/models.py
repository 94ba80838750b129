from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sharestack.db.base import (
    TABLE_OPTIONS,
    Base,
    BigIntPK,
    ExactString,
    TimestampMixin,
    UTCDateTime,
    closed_set,
)

USER_STATUSES = ("active", "disabled")


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = TABLE_OPTIONS

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Stored in its canonical form (sharestack.text.canonical_email) and compared byte for byte:
    # the unique index then means "one account per address" on every database. None for an
    # account signed up by phone or WeChat that has linked no email (NULLs never collide).
    email: Mapped[str | None] = mapped_column(ExactString(254), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(
        closed_set(*USER_STATUSES, name="status"), nullable=False, default="active"
    )
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set when the owner followed a verification link sent to ``email`` (or a reset link).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set when the account was erased on request (``users/deletion.py``); the row stays, disabled
    # and anonymised, for the money records that point at it (payments, ledger, payouts).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class UserProfile(TimestampMixin, Base):
    __tablename__ = "user_profiles"
    __table_args__ = TABLE_OPTIONS

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    display_name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    bio: Mapped[str] = mapped_column(sa.String(1000), nullable=False, default="")
    avatar_url: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
