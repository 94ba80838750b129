"""The email port: what ShareStack sends mail through, with one adapter per way of sending.

- ``SmtpMailer`` (production): an SMTP submission server through ``aiosmtplib``.
- ``ConsoleMailer`` (development and test without SMTP): writes each message to the log and
  keeps the last ones in memory, so a developer can follow a reset link from ``make run``.

Mail is never sent from a request: domains enqueue a job through the outbox, so a request that
rolls back sends nothing, and a slow SMTP server never holds a request. Infrastructure: imports
no domain.
"""

from sharestack.email.base import EmailMessage, Mailer, MailerUnavailable
from sharestack.email.factory import mailer_from_settings

__all__ = ["EmailMessage", "Mailer", "MailerUnavailable", "mailer_from_settings"]
