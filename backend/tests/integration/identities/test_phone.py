"""Phone log-in over HTTP against MariaDB and Redis: codes, tries, expiry, send limits, races."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.auth import phone
from sharestack.auth.models import UserAuth
from sharestack.auth.phone_codes import PhoneCodes
from sharestack.db.after_commit import write_transaction
from sharestack.dependencies import app_state
from sharestack.jobs.models import OutboxJob
from sharestack.users.models import User
from tests.integration.identities.conftest import Phones, bearer, new_number

pytestmark = pytest.mark.integration


async def forget_send_limits(app: FastAPI, number: str) -> None:
    """As if the minute had passed: drop the per-number send limit's state."""
    redis = app_state(app).redis
    async for key in redis.ratelimit.scan_iter(match=f"{redis.prefix}rl:sms-to-*:{number}"):
        await redis.ratelimit.delete(key)


async def count(app: FastAPI, model: type[User] | type[UserAuth]) -> int:
    async with app_state(app).db.write_sessionmaker() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


async def test_first_log_in_creates_the_account_then_signs_in(phones: Phones, app: FastAPI) -> None:
    number = new_number()
    r = await phones.login(number)
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True
    assert "HttpOnly" in r.headers["set-cookie"]
    user_id, token = r.json()["user_id"], r.json()["token"]
    me = await phones.client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["email"] is None
    assert me.json()["display_name"] == f"用户{number[-4:]}"

    await forget_send_limits(app, number)
    again = await phones.login(number)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["user_id"] == user_id
    assert await count(app, User) == 1


async def test_numbers_are_normalised_to_e164(phones: Phones, app: FastAPI) -> None:
    number = new_number()
    local = f"{number[3:6]} {number[6:10]}-{number[10:]}"  # how people write it in China
    r = await phones.client.post("/api/v1/auth/phone/code", json={"phone": local})
    assert r.status_code == 202
    await phones.jobs.settle()
    code = (await phones.console.sent(number))[-1]
    r = await phones.client.post(
        "/api/v1/auth/phone/login", json={"phone": f"+86 {number[3:]}", "code": code}
    )
    assert r.status_code == 200
    async with app_state(app).db.write_sessionmaker() as session:
        identifier = await session.scalar(sa.select(UserAuth.identifier))
    assert identifier == number


@pytest.mark.parametrize("bad", ["12345", "+1 202 555 01", "+8610 6552 9988", "+86 139 0000"])
async def test_an_invalid_or_non_mobile_number_is_a_422_naming_the_field(
    phones: Phones, bad: str
) -> None:
    r = await phones.client.post("/api/v1/auth/phone/code", json={"phone": bad})
    assert r.status_code == 422, r.text
    assert "phone" in r.json()["error"]["fields"]


async def test_guessing_stops_after_five_tries_even_the_right_code(
    phones: Phones, app: FastAPI
) -> None:
    number = new_number()
    code = await phones.send(number)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        r = await phones.client.post(
            "/api/v1/auth/phone/login", json={"phone": number, "code": wrong}
        )
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "invalid_code"
    r = await phones.client.post("/api/v1/auth/phone/login", json={"phone": number, "code": code})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_attempts"
    assert await count(app, User) == 0


async def test_an_expired_code_is_refused_and_nothing_is_created(
    phones: Phones, app: FastAPI
) -> None:
    number = new_number()
    code = await phones.send(number)
    redis = app_state(app).redis
    key = redis.key("phonecode", number)
    assert 0 < await redis.sessions.ttl(key) <= 300
    await redis.sessions.pexpire(key, 1)  # its five minutes are up
    await asyncio.sleep(0.05)
    r = await phones.client.post("/api/v1/auth/phone/login", json={"phone": number, "code": code})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "code": "invalid_code",
        "message": "The code is wrong or has expired; request a new one.",
        "fields": {"code": "wrong or expired"},
    }
    assert await count(app, User) == 0


async def test_the_code_is_kept_only_as_a_hash(phones: Phones, app: FastAPI) -> None:
    number = new_number()
    code = await phones.send(number)
    state = app_state(app)
    stored = await state.redis.sessions.hgetall(state.redis.key("phonecode", number))
    assert set(stored) == {b"h", b"n"}
    assert code.encode() not in stored[b"h"]
    async with state.db.write_sessionmaker() as session:
        kwargs = (await session.scalars(sa.select(OutboxJob.kwargs))).all()
    assert kwargs, "the SMS should have gone through the outbox"
    assert all(code not in k.split('"sealed":"')[0] for k in kwargs)
    assert all(number in k for k in kwargs)


async def test_100_simultaneous_code_requests_send_one(phones: Phones, app: FastAPI) -> None:
    number = new_number()
    responses = await asyncio.gather(
        *(phones.client.post("/api/v1/auth/phone/code", json={"phone": number}) for _ in range(100))
    )
    statuses = [r.status_code for r in responses]
    await phones.jobs.settle()
    sent = await phones.console.sent(number)
    print(f"\n100 simultaneous code requests: {statuses.count(202)} accepted, {len(sent)} sent")
    assert statuses.count(202) == 1
    assert statuses.count(429) == 99
    assert len(sent) == 1
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_the_answer_is_the_same_with_or_without_an_account(
    phones: Phones, app: FastAPI
) -> None:
    known = new_number()
    assert (await phones.login(known)).status_code == 200
    await forget_send_limits(app, known)
    answers = []
    for number in (known, new_number()):
        r = await phones.client.post("/api/v1/auth/phone/code", json={"phone": number})
        answers.append((r.status_code, r.json(), sorted(r.headers)))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (202, {"expires_in": 300})


async def test_twenty_simultaneous_logins_with_one_fresh_code_make_one_account(
    phones: Phones, app: FastAPI
) -> None:
    number = new_number()
    code = await phones.send(number)
    responses = await asyncio.gather(
        *(
            phones.client.post("/api/v1/auth/phone/login", json={"phone": number, "code": code})
            for _ in range(20)
        )
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == 19, statuses
    assert await count(app, User) == 1
    assert await count(app, UserAuth) == 1


async def test_a_rolled_back_request_sends_nothing(phones: Phones, app: FastAPI) -> None:
    state = app_state(app)
    s = state.settings
    codes = PhoneCodes(state.redis, s.secret_key, s.sms_code_ttl_seconds, s.sms_code_max_attempts)
    number = new_number()

    class Boom(Exception):
        pass

    async def fails_after_sending() -> None:
        async with write_transaction(state.db) as session:
            await phone.send_code(session, codes, s.secret_key, number)
            raise Boom

    with pytest.raises(Boom):
        await fails_after_sending()
    await phones.jobs.settle()
    assert await phones.console.sent(number) == []

    async with write_transaction(state.db) as session:
        await phone.send_code(session, codes, s.secret_key, number)
    await phones.jobs.settle()
    assert len(await phones.console.sent(number)) == 1


async def test_the_per_ip_limit_holds_across_numbers(app: FastAPI, clean_tables: None) -> None:
    ip = "203.0.113.77"
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    limit = app_state(app).settings.sms_limits_per_ip.split(",")[0]
    allowed = int(limit.split("/")[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        statuses = [
            (await http.post("/api/v1/auth/phone/code", json={"phone": new_number()})).status_code
            for _ in range(allowed + 2)
        ]
    assert statuses == [202] * allowed + [429, 429]


async def test_a_disabled_account_cannot_sign_in_by_phone(phones: Phones, app: FastAPI) -> None:
    number = new_number()
    user_id = (await phones.login(number)).json()["user_id"]
    async with app_state(app).db.write_engine.begin() as conn:
        await conn.execute(sa.update(User).where(User.id == user_id).values(status="disabled"))
    await forget_send_limits(app, number)
    r = await phones.login(number)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "account_disabled"


async def test_an_account_without_a_password_deletes_itself_with_a_fresh_code(
    phones: Phones, app: FastAPI
) -> None:
    number = new_number()
    r = await phones.login(number)
    assert r.status_code == 200, r.text
    headers = bearer(r.json()["token"])

    async def delete(body: dict[str, str]) -> httpx.Response:
        return await phones.client.request("DELETE", "/api/v1/me", json=body, headers=headers)

    missing = await delete({})
    assert missing.status_code == 401
    assert "phone_code" in missing.json()["error"]["fields"]
    await forget_send_limits(app, number)
    code = await phones.send(number)
    wrong = "000000" if code != "000000" else "111111"
    assert (await delete({"phone_code": wrong})).status_code == 400
    assert (await phones.client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await delete({"phone_code": code})).status_code == 204
    assert (await phones.client.get("/api/v1/me", headers=headers)).status_code == 401
    async with app_state(app).db.write_sessionmaker() as session:
        left = await session.scalar(
            sa.select(sa.func.count()).select_from(UserAuth).where(UserAuth.identifier == number)
        )
    assert left == 0
