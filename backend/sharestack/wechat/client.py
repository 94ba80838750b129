"""The WeChat log-in port and its HTTP client.

Website QR log-in (open platform 网站应用, OAuth 2 ``snsapi_login``): the browser goes to
``{open}/connect/qrconnect?appid&redirect_uri&response_type=code&scope=snsapi_login&state``, the
user scans, WeChat sends the browser back to the redirect URI with ``code`` and ``state``; the
server exchanges the code at ``sns/oauth2/access_token`` (openid, unionid when the app is bound
to an open-platform account) and may read ``sns/userinfo`` for the nickname.

Mini-program log-in: ``wx.login()`` gives the mini-program a code, which the server exchanges at
``sns/jscode2session`` (openid, unionid, session_key; the session key is not kept).

WeChat answers HTTP 200 either way: an error is ``{"errcode": 40029, "errmsg": ...}`` (40029
invalid code, 40163 code used, 40013 invalid appid, 40125 invalid secret, 45011 rate limited,
40226 high-risk user, -1 system busy).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from sharestack.config import Settings

logger = logging.getLogger(__name__)

# WeChat's own rejections of the code the user brought (not our configuration's fault).
CODE_ERRORS = frozenset({40029, 40163, 40226, 41008})


class WechatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errcode = errcode
        super().__init__(f"wechat errcode {errcode}: {errmsg}"[:300])

    @property
    def bad_code(self) -> bool:
        return self.errcode in CODE_ERRORS


@dataclass(frozen=True)
class WechatIdentity:
    appid: str
    openid: str
    unionid: str | None
    nickname: str | None = None


@dataclass(frozen=True)
class WechatApp:
    appid: str
    secret: str


class WechatLogin:
    """Both log-ins; ``web`` / ``mini`` are None when that app is not configured."""

    def __init__(
        self,
        *,
        web: WechatApp | None,
        mini: WechatApp | None,
        redirect_uri: str | None,
        api_base_url: str = "https://api.weixin.qq.com",
        open_base_url: str = "https://open.weixin.qq.com",
        timeout: float = 10.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.web = web if redirect_uri else None
        self.mini = mini
        self.redirect_uri = redirect_uri
        self._api = api_base_url.rstrip("/")
        self._open = open_base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=timeout)

    def authorize_url(self, state: str) -> str:
        assert self.web is not None
        assert self.redirect_uri is not None
        query = urlencode(
            {
                "appid": self.web.appid,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "scope": "snsapi_login",
                "state": state,
            }
        )
        return f"{self._open}/connect/qrconnect?{query}#wechat_redirect"

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._http.get(f"{self._api}{path}", params=params)
            data = orjson.loads(response.content)
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise WechatError(-1, f"unreachable or unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise WechatError(-1, "unexpected answer")
        if data.get("errcode"):
            raise WechatError(int(data["errcode"]), str(data.get("errmsg", "")))
        return data

    async def web_login(self, code: str) -> WechatIdentity:
        assert self.web is not None
        token = await self._get(
            "/sns/oauth2/access_token",
            {
                "appid": self.web.appid,
                "secret": self.web.secret,
                "code": code,
                "grant_type": "authorization_code",
            },
        )
        openid, unionid = str(token["openid"]), token.get("unionid")
        nickname = None
        try:
            info = await self._get(
                "/sns/userinfo", {"access_token": str(token["access_token"]), "openid": openid}
            )
            nickname = str(info.get("nickname") or "") or None
            unionid = unionid or info.get("unionid")
        except WechatError:
            pass  # the nickname is a nicety: the log-in does not depend on it
        return WechatIdentity(self.web.appid, openid, str(unionid) if unionid else None, nickname)

    async def mini_login(self, code: str) -> WechatIdentity:
        assert self.mini is not None
        data = await self._get(
            "/sns/jscode2session",
            {
                "appid": self.mini.appid,
                "secret": self.mini.secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        unionid = data.get("unionid")
        return WechatIdentity(
            self.mini.appid, str(data["openid"]), str(unionid) if unionid else None
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def wechat_from_settings(settings: Settings) -> WechatLogin:
    s = settings
    web = mini = None
    web_settings = (s.wechat_web_appid, s.wechat_web_secret, s.wechat_web_redirect_uri)
    if all(web_settings):
        web = WechatApp(str(s.wechat_web_appid), str(s.wechat_web_secret))
    elif any(web_settings):  # almost always a deployment mistake: say so, leave it off
        logger.warning("WECHAT_WEB_APPID, _SECRET and _REDIRECT_URI are needed together: off")
    if s.wechat_mini_appid and s.wechat_mini_secret:
        mini = WechatApp(s.wechat_mini_appid, s.wechat_mini_secret)
    elif s.wechat_mini_appid or s.wechat_mini_secret:
        logger.warning("WECHAT_MINI_APPID and WECHAT_MINI_SECRET are needed together: off")
    return WechatLogin(
        web=web,
        mini=mini,
        redirect_uri=s.wechat_web_redirect_uri,
        api_base_url=s.wechat_api_base_url,
        open_base_url=s.wechat_open_base_url,
        timeout=s.provider_timeout_seconds,
    )
