"""Password reset through a real SMTP server process: request a reset, the SMTP server receives
the mail, the link's token resets the password, and the new password logs in. MariaDB and Redis
are the integration servers; the reset job runs in-process (the outbox relay hands it over)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.dependencies import app_state
from sharestack.email import EmailMessage, MailerUnavailable
from sharestack.email.smtp import SmtpMailer
from sharestack.main import create_app
from tests.integration.billing import inline_jobs
from tests.integration.helpers import PASSWORD, signup
from tests.support import servers
from tests.support.processes import free_port
from tests.support.smtp import SmtpServer, smtp_server

pytestmark = pytest.mark.system

LINK = re.compile(r"https://app\.example\.com/reset-password#token=([A-Za-z0-9_-]+)")
NEW = "a brand new passphrase"


@pytest.fixture
async def mailing(migrated: Settings, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, SmtpServer]]:
    prefix = f"{migrated.redis_key_prefix}smtp{secrets.token_hex(3)}:"
    with smtp_server(tmp_path) as smtp:
        settings = migrated.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_security": "none",  # a loopback test server without TLS
                "email_from": "ShareStack <no-reply@example.com>",
                "public_base_url": "https://app.example.com",
                "redis_key_prefix": prefix,
            }
        )
        app = create_app(settings)
        try:
            async with app.router.lifespan_context(app):
                assert isinstance(app_state(app).mailer, SmtpMailer)
                yield app, smtp
        finally:
            servers.delete_redis_prefix(prefix)


async def test_reset_through_a_real_smtp_server(
    mailing: tuple[FastAPI, SmtpServer], clean_tables: None
) -> None:
    app, smtp = mailing
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        me = await signup(client)
        async with inline_jobs(app) as jobs:
            r = await client.post("/api/v1/auth/password/forgot", json={"email": me.email})
            assert r.status_code == 202
            await jobs.settle()
        received = [m for m in smtp.messages() if m["To"] == me.email]
        resets = [m for m in received if "reset" in str(m["Subject"]).lower()]
        assert len(resets) == 1, [m["Subject"] for m in received]
        mail = resets[0]
        assert mail["From"] == "ShareStack <no-reply@example.com>"
        body = mail.get_payload(decode=True).decode()
        tokens = LINK.findall(body)
        assert len(tokens) == 1, body

        r = await client.post(
            "/api/v1/auth/password/reset", json={"token": tokens[0], "new_password": NEW}
        )
        assert r.status_code == 204, r.text
        r = await client.post("/api/v1/auth/login", json={"email": me.email, "password": NEW})
        assert r.status_code == 200, r.text
        r = await client.post("/api/v1/auth/login", json={"email": me.email, "password": PASSWORD})
        assert r.status_code == 401


async def test_an_unreachable_smtp_server_fails_the_send_for_a_retry() -> None:
    mailer = SmtpMailer(
        host="127.0.0.1", port=free_port(), sender="no-reply@example.com", security="none",
        timeout=2,
    )  # fmt: skip
    with pytest.raises(MailerUnavailable):
        await mailer.send(EmailMessage(to="a@example.com", subject="s", text="t"))
