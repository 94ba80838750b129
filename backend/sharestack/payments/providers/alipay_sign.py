"""Alipay open platform RSA2 (SHA256withRSA) signing and verification, as pure functions.

- Requests: every parameter except ``sign`` with a non-empty value, sorted by key, joined as
  ``k=v`` with ``&``, values raw (not URL-encoded); ``biz_content`` is the JSON text as sent.
- Answers: the signature covers the exact text of the ``<method>_response`` value (dots become
  underscores) as it appears in the body, not a re-serialisation of the parsed JSON, so the
  value is located with a JSON decoder that reports where it ends.
- Notifications (form posts): like requests, but ``sign_type`` is excluded as well.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa

from sharestack.payments.providers import _rsa


def signing_string(params: Mapping[str, str], exclude: frozenset[str] = frozenset({"sign"})) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in exclude and params[k])


def sign_params(key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    signed = dict(params)
    signed["sign"] = _rsa.sign(key, signing_string(params))
    return signed


def biz_content(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def response_key(method: str) -> str:
    return method.replace(".", "_") + "_response"


def signed_response_text(body: str, method: str) -> tuple[str, dict[str, Any], str | None]:
    """The raw text of the ``<method>_response`` (or ``error_response``) value, its parsed
    form, and the ``sign`` next to it. Raises ``ValueError`` for a body without either."""
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("answer is not an object")
    for key in (response_key(method), "error_response"):
        if key in document:
            break
    else:
        raise ValueError("answer without a response object")
    decoder = json.JSONDecoder()
    marker = json.dumps(key)
    index = body.find(marker)
    while index != -1:
        start = index + len(marker)
        while body[start] in " \t\r\n":
            start += 1
        if body[start] == ":":
            start += 1
            while body[start] in " \t\r\n":
                start += 1
            value, end = decoder.raw_decode(body, start)
            if isinstance(value, dict) and value == document[key]:
                sign = document.get("sign")
                return body[start:end], value, sign if isinstance(sign, str) else None
        index = body.find(marker, index + 1)
    raise ValueError("response object not found in the text")


def notification_params(body: bytes) -> dict[str, str]:
    """A form-encoded notification as a dict; a repeated key is refused (which copy did the
    signature cover?)."""
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise ValueError(f"repeated parameter {key}")
        params[key] = value
    return params


def verify_notification(public_key: rsa.RSAPublicKey, params: Mapping[str, str]) -> bool:
    signature = params.get("sign", "")
    message = signing_string(params, frozenset({"sign", "sign_type"}))
    return bool(signature) and _rsa.verify(public_key, message, signature)


def sign_notification(key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    """Alipay's side (simulator and tests)."""
    signed = dict(params)
    signed["sign"] = _rsa.sign(key, signing_string(params, frozenset({"sign", "sign_type"})))
    return signed
