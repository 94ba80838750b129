"""Single-use tokens sent by email (password reset, email verification): the table and its
queries.

The token itself exists only in the email: the row keeps HMAC-SHA256(SECRET_KEY, token), so a
database dump holds no usable link. Using a token is one conditional UPDATE (``used_at IS NULL``
and not expired): of any number of concurrent uses exactly one changes the row; the others see
0 rows and are refused. Issuing a token retires the user's earlier unused ones of that purpose,
so only the latest link works.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sharestack.db.base import TABLE_OPTIONS, Base, BigIntPK, UTCDateTime, closed_set, utcnow
from sharestack.db.session import ReadSession, WriteSession

PURPOSES = ("password_reset", "email_verify")
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 64


class AccountToken(Base):
    __tablename__ = "account_tokens"
    __table_args__ = (
        sa.UniqueConstraint("digest"),
        sa.Index("ix_account_tokens_user_id_purpose", "user_id", "purpose"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    purpose: Mapped[str] = mapped_column(closed_set(*PURPOSES, name="purpose"), nullable=False)
    # Hex HMAC-SHA256 of the token: ASCII, so the table's collation compares it exactly.
    digest: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


def digest_of(secret_key: str, token: str) -> str:
    return hmac.new(
        secret_key.encode(), b"account-token:" + token.encode(), hashlib.sha256
    ).hexdigest()


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def retire(session: WriteSession, user_id: int, purpose: str) -> None:
    """Make every unused token of this user and purpose unusable."""
    await session.execute(
        sa.update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


async def issue(
    session: WriteSession, secret_key: str, user_id: int, purpose: str, ttl: timedelta
) -> str:
    """A new token for the user (earlier unused ones retired); returns the token to send."""
    await retire(session, user_id, purpose)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            digest=digest_of(secret_key, token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def find(
    session: ReadSession, secret_key: str, token: str, purpose: str
) -> AccountToken | None:
    result = await session.execute(
        sa.select(AccountToken).where(
            AccountToken.digest == digest_of(secret_key, token), AccountToken.purpose == purpose
        )
    )
    return result.scalar_one_or_none()


async def use(session: WriteSession, token: AccountToken) -> bool:
    """Claim the token for this transaction: True for exactly one of concurrent claimers."""
    result = await session.execute(
        sa.update(AccountToken)
        .where(
            AccountToken.id == token.id,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def delete_for_user(session: WriteSession, user_id: int) -> None:
    await session.execute(sa.delete(AccountToken).where(AccountToken.user_id == user_id))
