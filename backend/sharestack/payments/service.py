"""The payments domain's surface for other packages (health's metrics)."""

from __future__ import annotations

from datetime import datetime

from sharestack.db.session import WriteSession
from sharestack.payments import repository


async def oldest_unsettled(session: WriteSession) -> dict[str, datetime]:
    """The oldest ``updated_at`` of payments still ``unknown`` / ``pending``, by status."""
    return await repository.oldest_unsettled(session)
