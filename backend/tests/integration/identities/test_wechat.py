"""WeChat log-in against a simulator of its endpoints (a real HTTP server on loopback): website
QR log-in with its state, mini-program code2session, UnionID keys, linking."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from sharestack.auth.models import UserAuth
from sharestack.dependencies import app_state
from sharestack.wechat import WechatApp, WechatLogin
from tests.integration.helpers import signup
from tests.integration.identities.conftest import bearer, random_ip
from tests.support.payment_simulators import serve
from tests.support.wechat_login_simulator import Person, WechatLoginSimulator

pytestmark = pytest.mark.integration

WEB = WechatApp("wx5e1f0c6b3a9d2e01", secrets.token_hex(16))
MINI = WechatApp("wx7a2b9c4d5e6f7a02", secrets.token_hex(16))
REDIRECT = "https://sharestack.example.com/login/wechat"


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[WechatLoginSimulator, str]]:
    sim = WechatLoginSimulator(apps={WEB.appid: WEB.secret, MINI.appid: MINI.secret})
    with serve(sim.app()) as url:
        yield sim, url


@pytest.fixture
async def wx(
    app: FastAPI, clean_tables: None, simulator: tuple[WechatLoginSimulator, str]
) -> AsyncIterator[tuple[WechatLoginSimulator, httpx.AsyncClient]]:
    sim, url = simulator
    state = app_state(app)
    original = state.wechat
    state.wechat = WechatLogin(web=WEB, mini=MINI, redirect_uri=REDIRECT, api_base_url=url)
    transport = httpx.ASGITransport(app=app, client=(random_ip(), 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield sim, http
    finally:
        await state.wechat.aclose()
        state.wechat = original


def person(unionid: str | None = None) -> Person:
    return Person(f"o{secrets.token_urlsafe(20)}", unionid, "微信昵称")


async def authorize(http: httpx.AsyncClient) -> str:
    r = await http.post("/api/v1/auth/wechat/authorize")
    assert r.status_code == 200, r.text
    url = urlsplit(r.json()["url"])
    query = parse_qs(url.query)
    assert url.netloc == "open.weixin.qq.com"
    assert url.path == "/connect/qrconnect"
    assert url.fragment == "wechat_redirect"
    assert query["scope"] == ["snsapi_login"]
    assert query["appid"] == [WEB.appid]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["state"] == [r.json()["state"]]
    assert "HttpOnly" in r.headers["set-cookie"]
    state: str = r.json()["state"]
    return state


async def wechat_users(app: FastAPI) -> list[str]:
    async with app_state(app).db.write_sessionmaker() as session:
        rows = await session.scalars(
            sa.select(UserAuth.identifier).where(UserAuth.provider == "wechat")
        )
        return list(rows)


async def test_website_qr_log_in_creates_then_signs_in(
    wx: tuple[WechatLoginSimulator, httpx.AsyncClient], app: FastAPI
) -> None:
    sim, http = wx
    someone = person(unionid=f"ou{secrets.token_hex(12)}")
    state = await authorize(http)
    code = sim.issue_code(WEB.appid, someone)
    r = await http.post("/api/v1/auth/wechat/login", json={"code": code, "state": state})
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True
    user_id, token = r.json()["user_id"], r.json()["token"]
    me = (await http.get("/api/v1/me", headers=bearer(token))).json()
    assert me["display_name"] == "微信昵称"
    assert me["email"] is None
    assert await wechat_users(app) == [f"unionid:{someone.unionid}"]

    # The same person from the mini-program (another openid, the same UnionID): same account.
    mini_self = Person(f"o{secrets.token_urlsafe(20)}", someone.unionid, "")
    r = await http.post(
        "/api/v1/auth/wechat/miniprogram/login",
        json={"code": sim.issue_code(MINI.appid, mini_self)},
    )
    assert r.status_code == 200, r.text
    assert r.json() == r.json() | {"user_id": user_id, "created": False}


async def test_without_a_unionid_the_openid_is_scoped_by_app(
    wx: tuple[WechatLoginSimulator, httpx.AsyncClient], app: FastAPI
) -> None:
    sim, http = wx
    someone = person()
    r = await http.post(
        "/api/v1/auth/wechat/miniprogram/login", json={"code": sim.issue_code(MINI.appid, someone)}
    )
    assert r.status_code == 200, r.text
    assert await wechat_users(app) == [f"openid:{MINI.appid}:{someone.openid}"]
    # Once the app is bound to an open-platform account, the same person comes with a UnionID.
    someone.unionid = f"ou{secrets.token_hex(12)}"
    r2 = await http.post(
        "/api/v1/auth/wechat/miniprogram/login", json={"code": sim.issue_code(MINI.appid, someone)}
    )
    assert r2.json()["user_id"] == r.json()["user_id"]
    assert await wechat_users(app) == [f"unionid:{someone.unionid}"]


async def test_a_state_mismatch_is_refused_before_wechat_is_asked(
    wx: tuple[WechatLoginSimulator, httpx.AsyncClient], app: FastAPI
) -> None:
    sim, http = wx
    await authorize(http)  # this browser's cookie holds its own state
    other_browser_state = secrets.token_urlsafe(24)
    code = sim.issue_code(WEB.appid, person())
    calls = len(sim.calls)
    r = await http.post(
        "/api/v1/auth/wechat/login", json={"code": code, "state": other_browser_state}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_state"
    assert r.json()["error"]["fields"] == {"state": "missing, expired or not this browser's"}
    assert len(sim.calls) == calls
    assert await wechat_users(app) == []


async def test_a_state_without_its_cookie_or_used_twice_is_refused(
    wx: tuple[WechatLoginSimulator, httpx.AsyncClient],
) -> None:
    sim, http = wx
    state = await authorize(http)
    cookie = http.cookies.get("ss_wechat_state")
    http.cookies.clear()  # an attacker's page posting the victim's state lacks the cookie
    r = await http.post(
        "/api/v1/auth/wechat/login",
        json={"code": sim.issue_code(WEB.appid, person()), "state": state},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_state"

    assert cookie is not None
    http.cookies.set("ss_wechat_state", cookie, path="/api/v1/")
    ok = await http.post(
        "/api/v1/auth/wechat/login",
        json={"code": sim.issue_code(WEB.appid, person()), "state": state},
    )
    assert ok.status_code == 200, ok.text
    http.cookies.set("ss_wechat_state", cookie, path="/api/v1/")
    replay = await http.post(
        "/api/v1/auth/wechat/login",
        json={"code": sim.issue_code(WEB.appid, person()), "state": state},
    )
    assert replay.status_code == 400


async def test_a_code_wechat_refuses_is_a_400(
    wx: tuple[WechatLoginSimulator, httpx.AsyncClient], app: FastAPI
) -> None:
    _, http = wx
    r = await http.post("/api/v1/auth/wechat/miniprogram/login", json={"code": "not-a-code"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "wechat_code_rejected"
    assert await wechat_users(app) == []


async def test_linking_wechat_and_someone_elses_wechat(
    wx: tuple[WechatLoginSimulator, httpx.AsyncClient], app: FastAPI
) -> None:
    sim, http = wx
    account = await signup(http, "linker")
    someone = person(unionid=f"ou{secrets.token_hex(12)}")
    state = await authorize(http)
    r = await http.post(
        "/api/v1/me/identities/wechat",
        json={"code": sim.issue_code(WEB.appid, someone), "state": state},
        headers=account.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["label"] == "WeChat"
    # Logging in with that WeChat now opens the email account.
    state = await authorize(http)
    r = await http.post(
        "/api/v1/auth/wechat/login",
        json={"code": sim.issue_code(WEB.appid, someone), "state": state},
    )
    assert r.json()["user_id"] == account.user_id

    intruder = await signup(http, "intruder")
    state = await authorize(http)
    r = await http.post(
        "/api/v1/me/identities/wechat",
        json={"code": sim.issue_code(WEB.appid, someone), "state": state},
        headers=intruder.headers,
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "identity_taken"
    r = await http.get("/api/v1/me/identities", headers=intruder.headers)
    assert [i["provider"] for i in r.json()] == ["password"]
    assert await wechat_users(app) == [f"unionid:{someone.unionid}"]


async def test_not_configured_is_a_clear_404(app: FastAPI, clean_tables: None) -> None:
    assert app_state(app).wechat is not None
    assert app_state(app).wechat.web is None  # type: ignore[union-attr]
    transport = httpx.ASGITransport(app=app, client=(random_ip(), 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        r = await http.post("/api/v1/auth/wechat/authorize")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_enabled"
        r = await http.post("/api/v1/auth/wechat/miniprogram/login", json={"code": "abc"})
        assert r.status_code == 404
