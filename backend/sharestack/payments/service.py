"""The payments domain's surface for other packages (health's metrics)."""

from __future__ import annotations

from datetime import datetime

from sharestack.db.session import WriteSession
from sharestack.pagination import Position
from sharestack.payments import repository
from sharestack.payments.checkout import payment_read
from sharestack.payments.schemas import PaymentRead


async def oldest_unsettled(session: WriteSession) -> dict[str, datetime]:
    """The oldest ``updated_at`` of payments still ``unknown`` / ``pending``, by status."""
    return await repository.oldest_unsettled(session)


async def all_for_payer(session: WriteSession, user_id: int) -> list[PaymentRead]:
    """Every payment the user made (data export), newest first, one query per 500."""
    out: list[PaymentRead] = []
    after: Position | None = None
    while True:
        rows = await repository.list_for_user(session, user_id, 500, after)
        out.extend(payment_read(p) for p in rows)
        if len(rows) < 500:
            return out
        after = Position(rows[-1].created_at, rows[-1].id)
