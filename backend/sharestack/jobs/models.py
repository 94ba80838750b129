from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sharestack.db.base import TABLE_OPTIONS, Base, BigIntPK, UTCDateTime, utcnow


class OutboxJob(Base):
    """A job committed together with the data change that asked for it (see jobs/__init__)."""

    __tablename__ = "job_outbox"
    __table_args__ = (
        # The relay's scan: unsent rows in id order.
        sa.Index("ix_job_outbox_sent_at_id", "sent_at", "id"),
        TABLE_OPTIONS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    function: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    # JSON text: the kwargs, serialised by orjson (portable across MySQL, MariaDB and SQLite).
    kwargs: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
