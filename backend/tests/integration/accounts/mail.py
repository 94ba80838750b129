"""Helpers for the account tests: the console outbox's messages and the tokens in their links."""

from __future__ import annotations

import re

from fastapi import FastAPI

from sharestack.dependencies import app_state
from sharestack.email.base import EmailMessage
from sharestack.email.console import ConsoleMailer

LINK = re.compile(r"/(reset-password|verify-email)#token=([A-Za-z0-9_-]+)")


def outbox(app: FastAPI) -> ConsoleMailer:
    mailer = app_state(app).mailer
    assert isinstance(mailer, ConsoleMailer), "the integration tier runs without SMTP_HOST"
    return mailer


def mails_to(app: FastAPI, email: str) -> list[EmailMessage]:
    return [m for m in outbox(app).sent if m.to == email]


def token_in(message: EmailMessage, page: str) -> str:
    found = [t for p, t in LINK.findall(message.text) if p == page]
    assert len(found) == 1, message.text
    return found[0]
