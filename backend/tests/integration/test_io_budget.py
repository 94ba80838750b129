"""What each endpoint may cost: at most so many SQL statements and Redis commands per request.

The table below is the budget; a change that makes any endpoint send more fails here with the
statements and commands it sent. Lists are measured on pages of several items, so a query per
item (N + 1) shows as a budget overrun. Redis commands include the rate limiter's and the session
lookup's; statements include BEGIN-less autocommit reads and the commit (COMMIT is not a cursor
statement and is not counted).

Each endpoint is exercised in a realistic state (the first read of an item is a cache miss, the
next one a hit) by one scenario, the way a client uses the API.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sharestack.db.base import utcnow
from sharestack.dependencies import app_state
from sharestack.payments.providers._common import CHINA_TZ
from tests.integration.accounts.mail import mails_to, token_in
from tests.integration.billing import checkout, inline_jobs, key, make_plan, sandbox_pay
from tests.integration.helpers import PASSWORD, Account, published, signup
from tests.integration.media.test_uploads import uploaded
from tests.integration.payouts.conftest import fund
from tests.support import images
from tests.support.io_counts import Counts, counting

pytestmark = pytest.mark.integration

# endpoint (method and route, with the state it is read in) -> (max statements, max Redis commands)
# A write that changes cached data pipelines one SET per generation and one PUBLISH (every
# process's L1, sharestack.cache.local_sync).
BUDGET: dict[str, tuple[int, int]] = {
    # + the verification email's outbox row.
    "POST /auth/register": (6, 2),
    # The session and its entry in the owner's index (listing, log-out everywhere).
    "POST /auth/login": (5, 6),
    "GET /me": (2, 2),
    "PATCH /me": (4, 4),
    "GET /users/{id}": (2, 5),
    # A draft changes no cache entry: the session script and, when the lease is spent, the
    # rate limit's. 4 statements when its tags exist; + INSERT IGNORE and re-read of new tags.
    "POST /contents": (6, 2),
    # The locked read with tags, the two UPDATEs; one pipeline of invalidations (id, slug,
    # author's feed, 2 tags), then SADD + SET NX for the coalesced feed warm-up, and the job's
    # enqueue script when this publication is the first of its window (jobs/coalesce.py).
    "POST /contents/{id}/publish": (3, 9),
    "PATCH /contents/{id}": (6, 7),
    "POST /contents/{id}/unpublish": (3, 7),
    "GET /contents/{id}/versions": (2, 2),
    "GET /contents/{id}/versions/{n}": (2, 2),
    "DELETE /contents/{id}": (2, 7),
    # A cold read: MGET, the rebuild lock (with the generation's creation when the scope was
    # never read: one more), the value; no script, so Redis's own count is the same. + 1 for the
    # rate limiter's lease when one falls due (tests/integration/cache/test_rebuild_lock.py
    # counts the cache's own commands exactly).
    "GET /contents/slug/{slug} cold": (1, 4),
    "GET /contents/slug/{slug} cached": (0, 2),
    "GET /contents/slug/{slug} cached, signed in": (0, 3),
    "GET /contents/{id} cold": (1, 5),
    "GET /contents/{id} cached": (0, 2),
    "GET /me/contents": (1, 2),
    "GET /creators/{id}/contents cold": (1, 4),
    "GET /creators/{id}/contents cached": (0, 2),
    "GET /creators/{id}/contents page 2 cold": (1, 4),
    "GET /tags/{slug}/contents cold": (2, 4),
    "GET /tags/{slug}/contents cached": (0, 2),
    "POST /plans": (1, 2),
    "PATCH /plans/{id}": (2, 2),
    "GET /creators/{id}/plans": (1, 1),
    "POST /checkouts": (7, 5),
    "POST /sandbox/payments/{ref}/pay": (2, 6),
    "GET /payments/{id}": (1, 2),
    "GET /me/payments": (1, 2),
    "GET /me/subscriptions": (1, 2),
    "GET /me/subscribers": (1, 2),
    "POST /subscriptions/{id}/cancel": (4, 3),
    "POST /subscriptions/{id}/resume": (4, 3),
    "POST /payments/{id}/refunds": (31, 9),
    "GET /payments/{id}/refunds": (2, 2),
    "POST /plans/{id}/archive": (3, 2),
    "POST /me/payout-accounts": (6, 2),
    "GET /me/payout-accounts": (1, 2),
    "POST /payouts": (22, 2),
    "GET /payouts": (1, 2),
    "GET /payouts/{id}": (1, 2),
    "GET /me/balance": (1, 2),
    "GET /me/ledger": (2, 2),
    "GET /me/statements/{month}.csv": (5, 2),
    "POST /auth/logout": (0, 4),
    # -- media, sessions, passwords, the account itself (_accounts_and_media) --
    # Redis: + 1 for the rate limit's lease, renewed by whichever request finds it spent.
    "POST /media": (8, 2),
    "GET /media/{id}": (2, 3),
    "GET /media/{id}/file": (2, 2),
    "PUT /contents/{id}/media": (8, 2),
    "GET /contents/{id}/media": (4, 2),
    "PUT /me/avatar": (12, 2),
    "DELETE /media/{id}": (7, 2),
    "GET /me/sessions": (0, 4),
    "DELETE /me/sessions/{id}": (0, 6),
    "GET /me/identities": (2, 2),
    "POST /me/password": (3, 6),
    "POST /auth/logout-all": (0, 6),
    "POST /me/email/verification": (2, 4),
    "POST /auth/email/verify": (4, 3),
    "POST /auth/password/forgot": (2, 2),
    "POST /auth/password/reset": (6, 5),
    "GET /me/export": (6, 2),
    # PAGE published items: their rows go in constant statements per 200 items, their cache
    # scopes (id, slug, tags: one pipeline) grow with them.
    "DELETE /me": (17, 25),
}

# Routes under /api/v1 with no entry yet, each with the reason. The check below fails for any
# other route without one, so a new endpoint comes with its budget.
NOT_BUDGETED: dict[str, str] = {
    # Not covered yet: they need the SMS, WeChat login and payment provider simulators
    # (tests/support/sms_simulators.py, wechat_login_simulator.py, payment_*.py) wired into
    # this scenario; their own tests count statements on some of them.
    "POST /auth/phone/code": "SMS simulator not wired in yet",
    "POST /auth/phone/login": "SMS simulator not wired in yet",
    "POST /me/identities/phone": "SMS simulator not wired in yet",
    "POST /auth/wechat/authorize": "WeChat simulator not wired in yet",
    "POST /auth/wechat/login": "WeChat simulator not wired in yet",
    "POST /auth/wechat/miniprogram/login": "WeChat simulator not wired in yet",
    "POST /me/identities/wechat": "WeChat simulator not wired in yet",
    "POST /me/identities/email": "needs an account without email (phone sign-up) first",
    "DELETE /me/identities/{}": "needs a second identity (phone or WeChat) first",
    "POST /sandbox/payments/agreements/{}/sign": "needs an agreement checkout first",
    "POST /webhooks/{}": "needs signed provider notifications (tests/support/payment_*.py)",
}

PAGE = 5  # items on every list page measured (more than one, so N + 1 shows)
NEW_PASSWORD = "a fresh 新密码 phrase"


class Meter:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.seen: dict[str, Counts] = {}

    async def __call__(
        self, name: str, send: Callable[[], Awaitable[httpx.Response]], expect: int = 200
    ) -> httpx.Response:
        with counting() as counts:
            r = await send()
        assert r.status_code == expect, (name, r.status_code, r.text)
        self.seen[name] = counts
        return r


async def _scenario(client: httpx.AsyncClient, app: FastAPI, m: Meter) -> None:
    c = client
    email = f"budget-{secrets.token_hex(4)}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": "预算"}
    await m("POST /auth/register", lambda: c.post("/api/v1/auth/register", json=body), 201)
    login = {"email": email, "password": PASSWORD}
    r = await m("POST /auth/login", lambda: c.post("/api/v1/auth/login", json=login))
    c.cookies.clear()
    creator = Account(r.json()["user_id"], email, r.json()["token"])
    h = creator.headers
    reader = await signup(client, "reader")
    rh = reader.headers

    await m("GET /me", lambda: c.get("/api/v1/me", headers=h))
    await m("PATCH /me", lambda: c.patch("/api/v1/me", json={"display_name": "改"}, headers=h))
    await m("GET /users/{id}", lambda: c.get(f"/api/v1/users/{creator.user_id}"))

    items = [await published(client, creator, tags=["科技", f"t{i}"]) for i in range(PAGE)]
    draft = {"title": "新 draft", "body": "正文", "tags": ["科技", "诗歌"]}
    r = await m("POST /contents", lambda: c.post("/api/v1/contents", json=draft, headers=h), 201)
    new = r.json()["id"]
    await m(
        "POST /contents/{id}/publish", lambda: c.post(f"/api/v1/contents/{new}/publish", headers=h)
    )
    patch = {"title": "改过的 title", "tags": ["科技"]}
    await m(
        "PATCH /contents/{id}", lambda: c.patch(f"/api/v1/contents/{new}", json=patch, headers=h)
    )
    await m(
        "POST /contents/{id}/unpublish",
        lambda: c.post(f"/api/v1/contents/{new}/unpublish", headers=h),
    )
    await m(
        "GET /contents/{id}/versions", lambda: c.get(f"/api/v1/contents/{new}/versions", headers=h)
    )
    await m(
        "GET /contents/{id}/versions/{n}",
        lambda: c.get(f"/api/v1/contents/{new}/versions/1", headers=h),
    )
    await m("DELETE /contents/{id}", lambda: c.delete(f"/api/v1/contents/{new}", headers=h), 204)

    slug, first = items[0]["slug"], items[1]["id"]
    await m("GET /contents/slug/{slug} cold", lambda: c.get(f"/api/v1/contents/slug/{slug}"))
    await m("GET /contents/slug/{slug} cached", lambda: c.get(f"/api/v1/contents/slug/{slug}"))
    await m(
        "GET /contents/slug/{slug} cached, signed in",
        lambda: c.get(f"/api/v1/contents/slug/{slug}", headers=rh),
    )
    await m("GET /contents/{id} cold", lambda: c.get(f"/api/v1/contents/{first}"))
    await m("GET /contents/{id} cached", lambda: c.get(f"/api/v1/contents/{first}"))
    await m("GET /me/contents", lambda: c.get("/api/v1/me/contents", headers=h))
    creator_feed = f"/api/v1/creators/{creator.user_id}/contents?limit=3"
    r = await m("GET /creators/{id}/contents cold", lambda: c.get(creator_feed))
    await m("GET /creators/{id}/contents cached", lambda: c.get(creator_feed))
    nxt = f"{creator_feed}&cursor={r.json()['next_cursor']}"
    await m("GET /creators/{id}/contents page 2 cold", lambda: c.get(nxt))
    await m("GET /tags/{slug}/contents cold", lambda: c.get("/api/v1/tags/科技/contents"))
    await m("GET /tags/{slug}/contents cached", lambda: c.get("/api/v1/tags/科技/contents"))

    plan = await make_plan(client, creator)
    pid = plan["id"]
    fields = {"name": "年度 Yearly", "price_amount": 9900, "interval": "year"}
    await m("POST /plans", lambda: c.post("/api/v1/plans", json=fields, headers=h), 201)
    await m(
        "PATCH /plans/{id}",
        lambda: c.patch(f"/api/v1/plans/{pid}", json={"name": "会员"}, headers=h),
    )
    await m("GET /creators/{id}/plans", lambda: c.get(f"/api/v1/creators/{creator.user_id}/plans"))

    async with inline_jobs(app) as jobs:
        order = {"plan_id": pid, "provider": "sandbox"}
        r = await m(
            "POST /checkouts",
            lambda: c.post("/api/v1/checkouts", json=order, headers=rh | key()),
            201,
        )
        payment = r.json()["payment"]["id"]
        await m(
            "POST /sandbox/payments/{ref}/pay",
            lambda: c.post(
                f"/api/v1/sandbox/payments/{payment}/pay", json={"outcome": "succeed"}, headers=rh
            ),
            202,
        )
        await jobs.settle()
        for _ in range(PAGE - 1):
            other = await signup(client, "reader")
            done = await checkout(client, other, pid)
            await sandbox_pay(client, other, done["payment"]["id"])
        await jobs.settle()
        await m("GET /payments/{id}", lambda: c.get(f"/api/v1/payments/{payment}", headers=rh))
        await m("GET /me/payments", lambda: c.get("/api/v1/me/payments", headers=rh))
        await m("GET /me/subscriptions", lambda: c.get("/api/v1/me/subscriptions", headers=rh))
        await m("GET /me/subscribers", lambda: c.get("/api/v1/me/subscribers", headers=h))
        sub = (await c.get("/api/v1/me/subscriptions", headers=rh)).json()[0]["id"]
        await m(
            "POST /subscriptions/{id}/cancel",
            lambda: c.post(f"/api/v1/subscriptions/{sub}/cancel", headers=rh),
        )
        await m(
            "POST /subscriptions/{id}/resume",
            lambda: c.post(f"/api/v1/subscriptions/{sub}/resume", headers=rh),
        )
        refund = {"amount": 100}
        await m(
            "POST /payments/{id}/refunds",
            lambda: c.post(f"/api/v1/payments/{payment}/refunds", json=refund, headers=h | key()),
            201,
        )
        await jobs.settle()
        await m(
            "GET /payments/{id}/refunds",
            lambda: c.get(f"/api/v1/payments/{payment}/refunds", headers=rh),
        )
        await m(
            "POST /plans/{id}/archive", lambda: c.post(f"/api/v1/plans/{pid}/archive", headers=h)
        )

    await fund(app_state(app).db, creator.user_id, 100_000)
    account = {
        "provider": "sandbox",
        "identity_type": "sandbox",
        "identity": "acct-1",
        "real_name": "张三",
    }
    r = await m(
        "POST /me/payout-accounts",
        lambda: c.post("/api/v1/me/payout-accounts", json=account, headers=h),
        201,
    )
    account_id = r.json()["id"]
    await m("GET /me/payout-accounts", lambda: c.get("/api/v1/me/payout-accounts", headers=h))
    for i in range(PAGE):
        payout = {"payout_account_id": account_id, "amount": 1_000 + i}
        r = await m(
            "POST /payouts",
            lambda p=payout: c.post("/api/v1/payouts", json=p, headers=h | key()),  # type: ignore[misc]
            201,
        )
    payout_id = r.json()["id"]
    await m("GET /payouts", lambda: c.get("/api/v1/payouts", headers=h))
    await m("GET /payouts/{id}", lambda: c.get(f"/api/v1/payouts/{payout_id}", headers=h))
    await m("GET /me/balance", lambda: c.get("/api/v1/me/balance", headers=h))
    await m("GET /me/ledger", lambda: c.get("/api/v1/me/ledger", headers=h))
    month = utcnow().astimezone(CHINA_TZ).strftime("%Y-%m")
    await m(
        "GET /me/statements/{month}.csv",
        lambda: c.get(f"/api/v1/me/statements/{month}.csv", headers=h),
    )
    await m("POST /auth/logout", lambda: c.post("/api/v1/auth/logout", headers=h), 204)


async def _accounts_and_media(client: httpx.AsyncClient, app: FastAPI, m: Meter) -> None:
    c = client
    async with inline_jobs(app) as jobs:
        me = await signup(client, "媒体")
        await jobs.settle()
    h = me.headers
    items = [await published(client, me, tags=["科技", f"m{i}"]) for i in range(PAGE)]
    r = await m(
        "POST /media",
        lambda: c.post(
            "/api/v1/media",
            files={"file": ("p.png", images.encoded("PNG", (12, 10)), "image/png")},
            headers=h,
        ),
        201,
    )
    first = r.json()["id"]
    media = [first] + [
        (await uploaded(client, me, images.encoded("PNG", (20 + i, 10))))["id"]
        for i in range(PAGE - 1)
    ]
    await m("GET /media/{id}", lambda: c.get(f"/api/v1/media/{first}", headers=h))
    await m("GET /media/{id}/file", lambda: c.get(f"/api/v1/media/{first}/file", headers=h))
    cid = items[0]["id"]
    await m(
        "PUT /contents/{id}/media",
        lambda: c.put(f"/api/v1/contents/{cid}/media", json={"media_ids": media}, headers=h),
    )
    await m("GET /contents/{id}/media", lambda: c.get(f"/api/v1/contents/{cid}/media", headers=h))
    await m(
        "PUT /me/avatar",
        lambda: c.put(
            "/api/v1/me/avatar",
            files={"file": ("me.jpg", images.photo(), "image/jpeg")},
            headers=h,
        ),
    )
    spare = (await uploaded(client, me, images.encoded("PNG", (90, 10))))["id"]
    await m("DELETE /media/{id}", lambda: c.delete(f"/api/v1/media/{spare}", headers=h), 204)

    login = {"email": me.email, "password": PASSWORD}
    others = []
    for _ in range(PAGE - 1):
        others.append((await c.post("/api/v1/auth/login", json=login)).json())
        c.cookies.clear()
    r = await m("GET /me/sessions", lambda: c.get("/api/v1/me/sessions", headers=h))
    sid = next(s["id"] for s in r.json()["items"] if not s["current"])
    await m(
        "DELETE /me/sessions/{id}",
        lambda: c.delete(f"/api/v1/me/sessions/{sid}", headers=h),
        204,
    )
    await m("GET /me/identities", lambda: c.get("/api/v1/me/identities", headers=h))
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    await m("POST /me/password", lambda: c.post("/api/v1/me/password", json=change, headers=h), 204)
    c.cookies.clear()
    await m("POST /auth/logout-all", lambda: c.post("/api/v1/auth/logout-all", headers=h))

    login = {"email": me.email, "password": NEW_PASSWORD}
    token = (await c.post("/api/v1/auth/login", json=login)).json()["token"]
    c.cookies.clear()
    h = {"Authorization": f"Bearer {token}"}
    async with inline_jobs(app) as jobs:
        await m(
            "POST /me/email/verification",
            lambda: c.post("/api/v1/me/email/verification", headers=h),
            202,
        )
        await jobs.settle()
        await m(
            "POST /auth/password/forgot",
            lambda: c.post("/api/v1/auth/password/forgot", json={"email": me.email}),
            202,
        )
        await jobs.settle()
    verify = token_in(
        [x for x in mails_to(app, me.email) if "verify-email" in x.text][-1], "verify-email"
    )
    await m(
        "POST /auth/email/verify",
        lambda: c.post("/api/v1/auth/email/verify", json={"token": verify}),
        204,
    )
    reset = token_in(
        [x for x in mails_to(app, me.email) if "reset-password" in x.text][-1], "reset-password"
    )
    body = {"token": reset, "new_password": PASSWORD}
    await m(
        "POST /auth/password/reset", lambda: c.post("/api/v1/auth/password/reset", json=body), 204
    )

    token = (
        await c.post("/api/v1/auth/login", json={"email": me.email, "password": PASSWORD})
    ).json()["token"]
    c.cookies.clear()
    h = {"Authorization": f"Bearer {token}"}
    await m("GET /me/export", lambda: c.get("/api/v1/me/export", headers=h))
    await m(
        "DELETE /me",
        lambda: c.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=h),
        204,
    )


def _route(name: str) -> str:
    """``POST /contents/{id}/publish`` of a budget entry (or a route), path parameters as {}."""
    method, path = name.split(" ")[:2]
    return f"{method} {re.sub(r'{[^}]*}', '{}', path)}"


def test_every_route_has_a_budget_or_a_reason(app: FastAPI) -> None:
    routes = {
        _route(f"{method.upper()} {path.removeprefix('/api/v1')}")
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    budgeted = {_route(name) for name in BUDGET} | {_route(n) for n in NOT_BUDGETED}
    assert sorted(routes - budgeted) == []
    assert sorted(budgeted - routes) == []  # no entry for a route that is gone


async def test_every_endpoint_stays_within_its_io_budget(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    meter = Meter(client)
    await _scenario(client, app, meter)
    await _accounts_and_media(client, app, meter)
    over: list[str] = []
    report: list[Any] = []
    for name, counts in meter.seen.items():
        report.append(f"{name}: {counts.sql} sql, {counts.commands} redis")
        sql, commands = BUDGET.get(name, (0, 0))
        if counts.sql > sql or counts.commands > commands:
            over.append(f"{name} (budget {sql} sql, {commands} redis): {counts.describe()}")
    print("\n".join(report))
    assert not over, "\n\n".join(over)
