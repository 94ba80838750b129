"""WeChat log-in (``sharestack.wechat`` does the HTTP) and its CSRF ``state``.

The state is bound to the browser twice: it is set as a short-lived HttpOnly cookie by the
authorize call, and its digest is kept in Redis for WECHAT_STATE_TTL_SECONDS. A callback is
accepted only with the same value in the body and the cookie, and only once (GETDEL): a state
planted in someone else's browser, replayed or expired is refused before WeChat is asked.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import TYPE_CHECKING

from sharestack.auth import identities
from sharestack.auth.identity_errors import (
    InvalidState,
    NotEnabled,
    WechatRejected,
    WechatUnavailable,
)
from sharestack.cache.redis import RedisRoles
from sharestack.db.session import WriteSession
from sharestack.wechat import WechatError, WechatIdentity, WechatLogin

if TYPE_CHECKING:
    from sharestack.users.models import User

logger = logging.getLogger(__name__)

STATE_COOKIE = "ss_wechat_state"


class WechatStates:
    def __init__(self, redis: RedisRoles, ttl: int) -> None:
        self._redis = redis.sessions
        self._roles = redis
        self.ttl = ttl

    def _key(self, state: str) -> str:
        return self._roles.key("wxstate", hashlib.sha256(state.encode()).hexdigest())

    async def issue(self) -> str:
        state = secrets.token_urlsafe(24)
        await self._redis.set(self._key(state), b"1", ex=self.ttl)
        return state

    async def consume(self, state: str, cookie: str | None) -> None:
        if cookie is None or not hmac.compare_digest(cookie.encode(), state.encode()):
            raise InvalidState()
        if await self._redis.getdel(self._key(state)) is None:
            raise InvalidState()


def web_client(wechat: WechatLogin | None) -> WechatLogin:
    if wechat is None or wechat.web is None:
        raise NotEnabled("WeChat website log-in is not enabled on this server.")
    return wechat


def mini_client(wechat: WechatLogin | None) -> WechatLogin:
    if wechat is None or wechat.mini is None:
        raise NotEnabled("WeChat mini-program log-in is not enabled on this server.")
    return wechat


async def _exchange(call: str, wechat: WechatLogin, code: str) -> WechatIdentity:
    try:
        if call == "web":
            return await wechat.web_login(code)
        return await wechat.mini_login(code)
    except WechatError as exc:
        if exc.bad_code:
            raise WechatRejected() from exc
        logger.warning("WeChat %s log-in failed: %s", call, exc)
        raise WechatUnavailable() from exc


async def web_identity(
    wechat: WechatLogin | None, states: WechatStates, code: str, state: str, cookie: str | None
) -> WechatIdentity:
    client = web_client(wechat)
    await states.consume(state, cookie)
    return await _exchange("web", client, code)


async def mini_identity(wechat: WechatLogin | None, code: str) -> WechatIdentity:
    return await _exchange("mini", mini_client(wechat), code)


async def login(session: WriteSession, identity: WechatIdentity) -> tuple[User, bool]:
    nickname = "".join(ch for ch in identity.nickname or "" if ch.isprintable())
    name = nickname.strip()[:64] or "微信用户"
    identifier = identities.wechat_identifier(identity)
    return await identities.sign_in(session, identities.WECHAT, identifier, name, wechat=identity)
