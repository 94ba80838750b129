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

# Password now; phone (SMS code) and WeChat (OpenID/UnionID) log-ins add rows of their own kind.
AUTH_PROVIDERS = ("password", "phone", "wechat")


class UserAuth(TimestampMixin, Base):
    """One credential of a user for one provider. ``identifier`` is the provider's account key
    (the canonical email for passwords, an E.164 number, a WeChat UnionID); ``secret_hash`` is
    an argon2id hash where the provider has a secret at all."""

    __tablename__ = "user_auth"
    __table_args__ = (
        sa.UniqueConstraint("provider", "identifier"),
        sa.Index("ix_user_auth_user_id_provider", "user_id", "provider"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    provider: Mapped[str] = mapped_column(
        closed_set(*AUTH_PROVIDERS, name="provider"), nullable=False
    )
    identifier: Mapped[str] = mapped_column(ExactString(254), nullable=False)
    secret_hash: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
