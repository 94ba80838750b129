from __future__ import annotations

import logging
from collections import deque

from sharestack.email.base import EmailMessage

logger = logging.getLogger("sharestack.email.outbox")


class ConsoleMailer:
    """Development's outbox: every message goes to the log (links included, which is why it is
    refused in production) and the last ``keep`` stay in ``sent``."""

    def __init__(self, keep: int = 100) -> None:
        self.sent: deque[EmailMessage] = deque(maxlen=keep)

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)
        logger.info("email to %s: %s\n%s", message.to, message.subject, message.text)

    async def aclose(self) -> None:
        return None
