from __future__ import annotations

import logging

from sharestack.config import Environment, Settings
from sharestack.email.base import EmailMessage, Mailer, MailerUnavailable
from sharestack.email.console import ConsoleMailer
from sharestack.email.smtp import SmtpMailer

logger = logging.getLogger(__name__)


class UnconfiguredMailer:
    """Production without SMTP_HOST: every send fails loudly (the job retries, then gives up)
    instead of printing reset links into production logs."""

    async def send(self, message: EmailMessage) -> None:
        raise MailerUnavailable("no SMTP server configured (set SMTP_HOST)")

    async def aclose(self) -> None:
        return None


def mailer_from_settings(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            security=settings.smtp_security,
            timeout=settings.smtp_timeout_seconds,
        )
    if settings.environment is Environment.production:
        logger.error("SMTP_HOST is not set: password-reset and verification emails cannot be sent")
        return UnconfiguredMailer()
    return ConsoleMailer()
