"""A simulator of WeChat's log-in endpoints (``sns/oauth2/access_token``, ``sns/userinfo``,
``sns/jscode2session``), served over HTTP on loopback by the tests.

``issue_code`` stands for the person scanning the QR code (or the mini-program's ``wx.login``):
it returns the code WeChat would hand back. Codes are single-use and bound to the app that
issued them, as WeChat's are; every error answers HTTP 200 with ``errcode``/``errmsg``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Person:
    openid: str
    unionid: str | None
    nickname: str


@dataclass
class WechatLoginSimulator:
    apps: dict[str, str]  # appid -> secret
    codes: dict[str, tuple[str, Person]] = field(default_factory=dict)
    tokens: dict[str, Person] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/sns/oauth2/access_token", self.access_token),
                Route("/sns/userinfo", self.userinfo),
                Route("/sns/jscode2session", self.jscode2session),
            ]
        )

    def issue_code(self, appid: str, person: Person) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = (appid, person)
        return code

    @staticmethod
    def _error(errcode: int, errmsg: str) -> JSONResponse:
        return JSONResponse({"errcode": errcode, "errmsg": errmsg})

    def _take(self, request: Request, code_param: str) -> tuple[str, Person] | JSONResponse:
        q = request.query_params
        appid = q.get("appid", "")
        if appid not in self.apps:
            return self._error(40013, "invalid appid")
        if q.get("secret") != self.apps[appid]:
            return self._error(40125, "invalid appsecret")
        if q.get("grant_type") != "authorization_code":
            return self._error(40002, "invalid grant_type")
        found = self.codes.pop(q.get(code_param, ""), None)
        if found is None or found[0] != appid:
            return self._error(40029, "invalid code")
        return found

    async def access_token(self, request: Request) -> JSONResponse:
        self.calls.append("access_token")
        found = self._take(request, "code")
        if isinstance(found, JSONResponse):
            return found
        _, person = found
        token = secrets.token_urlsafe(16)
        self.tokens[token] = person
        body: dict[str, object] = {
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(16),
            "openid": person.openid,
            "scope": "snsapi_login",
        }
        if person.unionid:
            body["unionid"] = person.unionid
        return JSONResponse(body)

    async def userinfo(self, request: Request) -> JSONResponse:
        self.calls.append("userinfo")
        person = self.tokens.get(request.query_params.get("access_token", ""))
        if person is None or request.query_params.get("openid") != person.openid:
            return self._error(40001, "invalid credential, access_token is invalid")
        body: dict[str, object] = {"openid": person.openid, "nickname": person.nickname}
        if person.unionid:
            body["unionid"] = person.unionid
        return JSONResponse(body)

    async def jscode2session(self, request: Request) -> JSONResponse:
        self.calls.append("jscode2session")
        found = self._take(request, "js_code")
        if isinstance(found, JSONResponse):
            return found
        _, person = found
        body: dict[str, object] = {"openid": person.openid, "session_key": "c2Vzc2lvbg=="}
        if person.unionid:
            body["unionid"] = person.unionid
        return JSONResponse(body)
