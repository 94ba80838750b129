from __future__ import annotations

import email.message
import email.utils
from typing import Literal

import aiosmtplib

from sharestack.email.base import EmailMessage, MailerUnavailable

Security = Literal["starttls", "tls", "none"]


class SmtpMailer:
    """Sends through an SMTP submission server, one connection per message (mail here is rare:
    resets and verifications), with a timeout so a hung server fails the job, which retries."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        security: Security = "starttls",
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.security = security
        self.timeout = timeout

    def _mime(self, message: EmailMessage) -> email.message.EmailMessage:
        mime = email.message.EmailMessage()
        mime["From"] = self.sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = email.utils.formatdate(usegmt=True)
        mime["Message-ID"] = email.utils.make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mime.set_content(message.text)
        return mime

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                self._mime(message),
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailerUnavailable(f"SMTP {self.host}:{self.port}: {exc}") from exc

    async def aclose(self) -> None:
        return None
