"""WeChat log-in: the OAuth client for website QR log-in and mini-program ``code2session``.
Knows no domain: it turns a code into the WeChat identity that sent it."""

from sharestack.wechat.client import WechatApp, WechatError, WechatIdentity, WechatLogin

__all__ = ["WechatApp", "WechatError", "WechatIdentity", "WechatLogin"]
