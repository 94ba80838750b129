"""Linked identities over HTTP: the phone → email journey, proof on both sides, someone else's
number, the last identity, concurrent unlinks."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.dependencies import app_state
from tests.integration.helpers import PASSWORD, signup
from tests.integration.identities.conftest import Phones, bearer, new_number
from tests.integration.identities.test_phone import forget_send_limits

pytestmark = pytest.mark.integration


async def identities(client: httpx.AsyncClient, token: str) -> list[dict[str, object]]:
    r = await client.get("/api/v1/me/identities", headers=bearer(token))
    assert r.status_code == 200, r.text
    data: list[dict[str, object]] = r.json()
    return data


async def test_phone_sign_up_then_link_an_email_then_log_in_by_email(
    phones: Phones, app: FastAPI
) -> None:
    http = phones.client
    number = new_number()
    signed_up = await phones.login(number)
    assert signed_up.json()["created"] is True
    await forget_send_limits(app, number)
    logged_in = await phones.login(number)
    assert logged_in.json()["created"] is False
    token, user_id = logged_in.json()["token"], logged_in.json()["user_id"]
    [only] = await identities(http, token)
    assert only["provider"] == "phone"
    assert only["label"] == f"{number[:6]}****{number[-4:]}"

    email = f"手机-{secrets.token_hex(3)}@Example.com"
    r = await http.post(
        "/api/v1/me/identities/email",
        json={"email": email, "password": PASSWORD},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    assert r.json()["provider"] == "password"
    canonical = email.lower()
    assert r.json()["label"] == canonical
    assert (await http.get("/api/v1/me", headers=bearer(token))).json()["email"] == canonical

    r = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == user_id
    http.cookies.clear()
    assert {i["provider"] for i in await identities(http, token)} == {"phone", "password"}

    # A second email is refused: unlink the first one.
    r = await http.post(
        "/api/v1/me/identities/email",
        json={"email": "other@example.com", "password": PASSWORD},
        headers=bearer(token),
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "already_linked"


async def test_linking_an_email_someone_registered_is_a_409(phones: Phones) -> None:
    other = await signup(phones.client, "owner")
    token = (await phones.login(new_number())).json()["token"]
    r = await phones.client.post(
        "/api/v1/me/identities/email",
        json={"email": other.email, "password": PASSWORD},
        headers=bearer(token),
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "email_taken"
    assert [i["provider"] for i in await identities(phones.client, token)] == ["phone"]
    assert (await phones.client.get("/api/v1/me", headers=bearer(token))).json()["email"] is None


async def test_linking_a_phone_needs_its_code_and_the_session(phones: Phones, app: FastAPI) -> None:
    account = await signup(phones.client, "email-first")
    number = new_number()
    code = await phones.send(number)
    body = {"phone": number, "code": code}
    r = await phones.client.post("/api/v1/me/identities/phone", json=body)
    assert r.status_code == 401  # no session: the code alone proves nothing about the account
    wrong = {"phone": number, "code": f"{(int(code) + 1) % 1_000_000:06d}"}
    r = await phones.client.post("/api/v1/me/identities/phone", json=wrong, headers=account.headers)
    assert r.status_code == 400
    assert [i["provider"] for i in await identities(phones.client, account.token)] == ["password"]

    r = await phones.client.post("/api/v1/me/identities/phone", json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    assert r.json()["provider"] == "phone"
    # The number now signs in to the same account.
    await forget_send_limits(app, number)
    r = await phones.login(number)
    assert r.json()["user_id"] == account.user_id
    assert r.json()["created"] is False


async def test_linking_someone_elses_phone_is_a_409_and_changes_nothing(
    phones: Phones, app: FastAPI
) -> None:
    number = new_number()
    owner = (await phones.login(number)).json()
    intruder = await signup(phones.client, "intruder")
    await forget_send_limits(app, number)
    code = await phones.send(number)  # suppose the intruder got hold of a code too
    r = await phones.client.post(
        "/api/v1/me/identities/phone",
        json={"phone": number, "code": code},
        headers=intruder.headers,
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "identity_taken"
    assert [i["provider"] for i in await identities(phones.client, intruder.token)] == ["password"]
    [kept] = await identities(phones.client, owner["token"])
    assert kept["provider"] == "phone"


async def test_the_last_identity_cannot_be_unlinked(phones: Phones) -> None:
    token = (await phones.login(new_number())).json()["token"]
    [only] = await identities(phones.client, token)
    r = await phones.client.delete(f"/api/v1/me/identities/{only['id']}", headers=bearer(token))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "last_identity"
    assert len(await identities(phones.client, token)) == 1


async def test_someone_elses_identity_is_not_found(phones: Phones) -> None:
    mine = await signup(phones.client, "me")
    theirs = await signup(phones.client, "them")
    [their_identity] = await identities(phones.client, theirs.token)
    r = await phones.client.delete(
        f"/api/v1/me/identities/{their_identity['id']}", headers=mine.headers
    )
    assert r.status_code == 404
    assert len(await identities(phones.client, theirs.token)) == 1


async def test_unlinking_the_email_frees_the_address(phones: Phones) -> None:
    account = await signup(phones.client, "both")
    number = new_number()
    code = await phones.send(number)
    r = await phones.client.post(
        "/api/v1/me/identities/phone",
        json={"phone": number, "code": code},
        headers=account.headers,
    )
    assert r.status_code == 201
    password = next(
        i for i in await identities(phones.client, account.token) if i["provider"] == "password"
    )
    r = await phones.client.delete(
        f"/api/v1/me/identities/{password['id']}", headers=account.headers
    )
    assert r.status_code == 204
    assert (await phones.client.get("/api/v1/me", headers=account.headers)).json()["email"] is None
    r = await phones.client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert r.status_code == 401
    r = await phones.client.post(
        "/api/v1/auth/register", json={"email": account.email, "password": PASSWORD}
    )
    assert r.status_code == 201


async def test_twenty_concurrent_unlinks_leave_one_identity(phones: Phones) -> None:
    account = await signup(phones.client, "racer")
    number = new_number()
    code = await phones.send(number)
    r = await phones.client.post(
        "/api/v1/me/identities/phone",
        json={"phone": number, "code": code},
        headers=account.headers,
    )
    assert r.status_code == 201
    both = await identities(phones.client, account.token)
    responses = await asyncio.gather(
        *(
            phones.client.delete(
                f"/api/v1/me/identities/{both[i % 2]['id']}", headers=account.headers
            )
            for i in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(204) == 1, statuses
    assert set(statuses) <= {204, 404, 409}
    assert len(await identities(phones.client, account.token)) == 1


async def _statements(app: FastAPI, call: Any) -> int:
    statements = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal statements
        # The outbox relay's polls and marks are not the request's; its insert is.
        if "job_outbox" not in statement or statement.lstrip().upper().startswith("INSERT"):
            statements += 1

    engine = app_state(app).db.write_engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        await call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return statements


async def test_statements_per_request_are_constant(phones: Phones, app: FastAPI) -> None:
    account = await signup(phones.client, "counted")

    async def listing() -> None:
        r = await phones.client.get("/api/v1/me/identities", headers=account.headers)
        assert r.status_code == 200

    one = await _statements(app, listing)
    number = new_number()
    code = await phones.send(number)
    r = await phones.client.post(
        "/api/v1/me/identities/phone",
        json={"phone": number, "code": code},
        headers=account.headers,
    )
    assert r.status_code == 201
    two = await _statements(app, listing)
    print(f"\nGET /me/identities: {one} statements with one identity, {two} with two")
    assert one == two <= 2  # the user, the identities

    other = new_number()

    async def request_code() -> None:
        r = await phones.client.post("/api/v1/auth/phone/code", json={"phone": other})
        assert r.status_code == 202

    sending = await _statements(app, request_code)
    await phones.jobs.settle()
    code = (await phones.console.sent(other))[-1]

    async def first_login() -> None:
        r = await phones.client.post(
            "/api/v1/auth/phone/login", json={"phone": other, "code": code}
        )
        assert r.status_code == 200

    login = await _statements(app, first_login)
    print(f"POST /auth/phone/code: {sending} statements; first phone log-in: {login}")
    assert sending == 1  # the outbox row; the code itself lives in Redis
    assert login <= 6
