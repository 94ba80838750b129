"""The account's sign-in identities as the data export shows them: never a secret or its hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sharestack.auth import repository
from sharestack.db.session import ReadSession


@dataclass(frozen=True)
class Identity:
    provider: str
    identifier: str
    created_at: datetime
    last_used_at: datetime | None


async def identities(session: ReadSession, user_id: int) -> list[Identity]:
    return [
        Identity(c.provider, c.identifier, c.created_at, c.last_used_at)
        for c in await repository.credentials_of(session, user_id)
    ]
