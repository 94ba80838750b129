from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EmailMessage:
    """A plain-text message to one recipient (the only kind ShareStack sends)."""

    to: str
    subject: str
    text: str


class MailerUnavailable(Exception):
    """The message could not be handed over; the job that sends it is retried."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def aclose(self) -> None: ...
