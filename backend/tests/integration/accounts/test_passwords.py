"""Password change, reset by emailed token and email verification, on MariaDB and Redis."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from fastapi import FastAPI

from sharestack.config import Settings
from sharestack.main import create_app
from tests.integration.accounts.mail import mails_to, outbox, token_in
from tests.integration.billing import execute, inline_jobs, scalar
from tests.integration.helpers import PASSWORD, Account, signup
from tests.support import servers

pytestmark = pytest.mark.integration

NEW = "a fresh 新密码 phrase"


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    client.cookies.clear()
    return r


async def _reset_token(client: httpx.AsyncClient, app: FastAPI, who: Account) -> str:
    async with inline_jobs(app) as jobs:
        r = await client.post("/api/v1/auth/password/forgot", json={"email": who.email})
        assert r.status_code == 202, r.text
        await jobs.settle()
    mails = [m for m in mails_to(app, who.email) if "reset-password" in m.text]
    assert mails, "the reset email was not sent"
    return token_in(mails[-1], "reset-password")


async def test_change_needs_the_current_password_and_ends_other_sessions(
    client: httpx.AsyncClient,
) -> None:
    me = await signup(client)
    other = (await _login(client, me.email, PASSWORD)).json()["token"]
    body = {"current_password": "not it at all", "new_password": NEW}
    r = await client.post("/api/v1/me/password", json=body, headers=me.headers)
    assert r.status_code == 401
    assert r.json()["error"]["fields"] == {"current_password": "incorrect"}
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})
    ).status_code == 200

    body = {"current_password": PASSWORD, "new_password": NEW}
    r = await client.post("/api/v1/me/password", json=body, headers=me.headers)
    assert r.status_code == 204, r.text
    # The other session ended, the current one stays.
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})
    ).status_code == 401
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 200
    assert (await _login(client, me.email, PASSWORD)).status_code == 401
    assert (await _login(client, me.email, NEW)).status_code == 200


@pytest.mark.parametrize("weak", ["password", "Password1", "qwertyuiop", "12345678"])
async def test_common_passwords_are_refused_naming_the_field(
    client: httpx.AsyncClient, weak: str
) -> None:
    me = await signup(client)
    body = {"current_password": PASSWORD, "new_password": weak}
    r = await client.post("/api/v1/me/password", json=body, headers=me.headers)
    assert r.status_code == 422
    assert "new_password" in r.json()["error"]["fields"]
    r = await client.post(
        "/api/v1/auth/register", json={"email": f"w{len(weak)}@example.com", "password": weak}
    )
    assert r.status_code == 422
    assert "password" in r.json()["error"]["fields"]


async def test_reset_by_email_then_log_in_with_the_new_password(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me = await signup(client)
    token = await _reset_token(client, app, me)
    # The token is stored only as a digest.
    assert await scalar(app, "SELECT COUNT(*) FROM account_tokens WHERE digest = :t", t=token) == 0
    # ... and never passes through the outbox or the queue: the job issues it.
    like = f"%{token}%"
    assert await scalar(app, "SELECT COUNT(*) FROM job_outbox WHERE kwargs LIKE :t", t=like) == 0
    r = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 204, r.text
    # Every session of the account ended; the new password works, the old one not.
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 401
    assert (await _login(client, me.email, PASSWORD)).status_code == 401
    r = await _login(client, me.email, NEW)
    assert r.status_code == 200
    me_now = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"}
    )
    assert me_now.json()["email_verified_at"] is not None  # the link proved the address

    # Replayed: refused, nothing changed.
    r = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": "yet another one 2"}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_token"
    assert r.json()["error"]["fields"] == {"token": "invalid, expired or already used"}
    assert (await _login(client, me.email, NEW)).status_code == 200


async def test_expired_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me = await signup(client)
    token = await _reset_token(client, app, me)
    await execute(
        app,
        "UPDATE account_tokens SET expires_at = created_at - INTERVAL 1 SECOND WHERE user_id = :u",
        u=me.user_id,
    )
    r = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_token"
    assert (await _login(client, me.email, PASSWORD)).status_code == 200
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 200


async def test_token_lives_fifteen_minutes(client: httpx.AsyncClient, app: FastAPI) -> None:
    me = await signup(client)
    await _reset_token(client, app, me)
    seconds = await scalar(
        app,
        "SELECT TIMESTAMPDIFF(SECOND, created_at, expires_at) FROM account_tokens "
        "WHERE user_id = :u AND purpose = 'password_reset'",
        u=me.user_id,
    )
    assert seconds == 900


async def test_forged_and_malformed_tokens(client: httpx.AsyncClient, app: FastAPI) -> None:
    me = await signup(client)
    token = await _reset_token(client, app, me)
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 43, "abc"):
        r = await client.post(
            "/api/v1/auth/password/reset", json={"token": forged, "new_password": NEW}
        )
        assert r.status_code == 400, forged
    for bad in ("", "has space", "x" * 65, "é" * 10):
        r = await client.post(
            "/api/v1/auth/password/reset", json={"token": bad, "new_password": NEW}
        )
        assert r.status_code == 422
        assert "token" in str(r.json()["error"]["fields"])
    assert (await _login(client, me.email, PASSWORD)).status_code == 200


async def test_only_the_latest_link_works(client: httpx.AsyncClient, app: FastAPI) -> None:
    me = await signup(client)
    first = await _reset_token(client, app, me)
    second = await _reset_token(client, app, me)
    assert first != second
    r = await client.post("/api/v1/auth/password/reset", json={"token": first, "new_password": NEW})
    assert r.status_code == 400
    r = await client.post(
        "/api/v1/auth/password/reset", json={"token": second, "new_password": NEW}
    )
    assert r.status_code == 204


async def test_twenty_concurrent_resets_with_one_token_one_wins(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me = await signup(client)
    token = await _reset_token(client, app, me)
    passwords = [f"concurrent choice {i:02d}" for i in range(20)]
    results = await asyncio.gather(
        *(
            client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": p})
            for p in passwords
        )
    )
    codes = [r.status_code for r in results]
    assert codes.count(204) == 1, codes
    assert set(codes) == {204, 400}, codes
    winner = passwords[codes.index(204)]
    logins = [
        (await _login(client, me.email, p)).status_code
        for p in (winner, passwords[codes.index(400)])
    ]
    assert logins == [200, 401]


async def test_reset_request_answers_the_same_for_unknown_addresses(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me = await signup(client)
    async with inline_jobs(app) as jobs:
        known = await client.post("/api/v1/auth/password/forgot", json={"email": me.email})
        unknown = await client.post(
            "/api/v1/auth/password/forgot", json={"email": "nobody-here@example.com"}
        )
        await jobs.settle()
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert not mails_to(app, "nobody-here@example.com")
    assert any("reset-password" in m.text for m in mails_to(app, me.email))


async def test_a_rolled_back_request_sends_nothing(client: httpx.AsyncClient, app: FastAPI) -> None:
    """The reset email is a job in the request's transaction: a failure after the enqueue
    (here: the commit refused) leaves no job and no mail."""
    from sharestack.auth import recovery
    from sharestack.db.after_commit import write_transaction
    from sharestack.dependencies import app_state

    me = await signup(client)
    before = len(outbox(app).sent)

    async def failing_request() -> None:
        async with write_transaction(app_state(app).db) as session:
            await recovery.request_reset(session, me.email)
            raise RuntimeError("the request failed after enqueueing")

    async with inline_jobs(app) as jobs:
        with pytest.raises(RuntimeError):
            await failing_request()
        await jobs.settle()
    assert len(outbox(app).sent) == before


async def test_email_verification_by_link(client: httpx.AsyncClient, app: FastAPI) -> None:
    async with inline_jobs(app) as jobs:
        me = await signup(client)
        await jobs.settle()
    assert (await client.get("/api/v1/me", headers=me.headers)).json()["email_verified_at"] is None
    sent = [m for m in mails_to(app, me.email) if "verify-email" in m.text]
    assert len(sent) == 1  # on registration
    async with inline_jobs(app) as jobs:
        r = await client.post("/api/v1/me/email/verification", headers=me.headers)
        assert r.status_code == 202
        await jobs.settle()
    sent = [m for m in mails_to(app, me.email) if "verify-email" in m.text]
    first, latest = token_in(sent[0], "verify-email"), token_in(sent[-1], "verify-email")
    assert (
        await client.post("/api/v1/auth/email/verify", json={"token": first})
    ).status_code == 400
    r = await client.post("/api/v1/auth/email/verify", json={"token": latest})
    assert r.status_code == 204, r.text
    assert (await client.get("/api/v1/me", headers=me.headers)).json()["email_verified_at"]
    assert (
        await client.post("/api/v1/auth/email/verify", json={"token": latest})
    ).status_code == 400


async def test_reset_routes_share_the_strict_auth_limit(migrated: Settings) -> None:
    prefix = f"{migrated.redis_key_prefix}authlimit{secrets.token_hex(3)}:"
    settings = migrated.model_copy(
        update={"rate_limit_auth": "3/minute", "redis_key_prefix": prefix}
    )
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                codes = [
                    (
                        await http.post(
                            "/api/v1/auth/password/forgot", json={"email": "x@example.com"}
                        )
                    ).status_code
                    for _ in range(3)
                ]
                r = await http.post(
                    "/api/v1/auth/password/reset", json={"token": "abc", "new_password": NEW}
                )
        assert codes == [202, 202, 202]
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
    finally:
        servers.delete_redis_prefix(prefix)
