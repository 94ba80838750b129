"""WeChat Pay API v3 signing, verification and decryption, as pure functions (no I/O).

- Requests: ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",
  timestamp="..",serial_no="..",signature=".."``; the signature is SHA256withRSA with the
  merchant API key over ``METHOD\\nPATH_WITH_QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` (an empty body
  for GET still ends the last line).
- Answers and notifications: ``Wechatpay-Signature`` over ``TIMESTAMP\\nNONCE\\nBODY\\n`` with
  the key named by ``Wechatpay-Serial``: a platform certificate serial, or, for the WeChat Pay
  public key, an id starting with ``PUB_KEY_ID_``. Merchants registered since late 2024 have
  only the public key (platform certificates are being retired), so both modes are supported and
  a verifier may hold both during a migration; a serial we do not hold is refused, never
  guessed.
- Notification ``resource``: AEAD_AES_256_GCM with the 32-byte APIv3 key; ``nonce`` and
  ``associated_data`` as UTF-8, ``ciphertext`` base64 (ciphertext || 16-byte tag).
- JSAPI client parameters: ``paySign`` over ``appId\\ntimeStamp\\nnonceStr\\npackage\\n``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sharestack.payments.providers import _rsa
from sharestack.payments.providers.base import (
    NOTIFICATION_MAX_AGE_SECONDS,
    NotificationRejected,
    RejectReason,
)

AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"
SIGNATURE_PROBE_PREFIX = "WECHATPAY/SIGNTEST/"


def nonce() -> str:
    return secrets.token_hex(16).upper()


def request_message(method: str, path: str, timestamp: str, nonce_str: str, body: str) -> str:
    return f"{method}\n{path}\n{timestamp}\n{nonce_str}\n{body}\n"


def response_message(timestamp: str, nonce_str: str, body: bytes) -> bytes:
    return timestamp.encode() + b"\n" + nonce_str.encode() + b"\n" + body + b"\n"


def jsapi_message(appid: str, timestamp: str, nonce_str: str, package: str) -> str:
    return f"{appid}\n{timestamp}\n{nonce_str}\n{package}\n"


def authorization(
    *,
    mchid: str,
    serial_no: str,
    key: rsa.RSAPrivateKey,
    method: str,
    path: str,
    body: str,
    timestamp: str,
    nonce_str: str,
) -> str:
    signature = _rsa.sign(key, request_message(method, path, timestamp, nonce_str, body))
    return (
        f'{AUTH_SCHEMA} mchid="{mchid}",nonce_str="{nonce_str}",timestamp="{timestamp}",'
        f'serial_no="{serial_no}",signature="{signature}"'
    )


def parse_authorization(header: str) -> dict[str, str]:
    """The fields of an Authorization header (the simulator's side of the handshake)."""
    schema, _, rest = header.partition(" ")
    if schema != AUTH_SCHEMA:
        raise ValueError("unknown authorization schema")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or len(value) < 2 or value[0] != '"' or value[-1] != '"':
            raise ValueError(f"malformed authorization field {part!r}")
        fields[name] = value[1:-1]
    return fields


def sign_jsapi(
    key: rsa.RSAPrivateKey, appid: str, prepay_id: str, timestamp: str
) -> dict[str, str]:
    nonce_str = nonce()
    package = f"prepay_id={prepay_id}"
    return {
        "appId": appid,
        "timeStamp": timestamp,
        "nonceStr": nonce_str,
        "package": package,
        "signType": "RSA",
        "paySign": _rsa.sign(key, jsapi_message(appid, timestamp, nonce_str, package)),
    }


@dataclass
class WechatPayVerifier:
    """The keys WeChat Pay signs with: platform certificates by serial, and/or the WeChat Pay
    public key by its id. ``now`` is injected by the caller (seconds since the epoch)."""

    platform_keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    public_key_id: str | None = None
    public_key: rsa.RSAPublicKey | None = None

    def key_for(self, serial: str) -> rsa.RSAPublicKey | None:
        if serial.startswith(PUBLIC_KEY_ID_PREFIX):
            return self.public_key if serial == self.public_key_id else None
        return self.platform_keys.get(serial)

    def check(self, headers: Mapping[str, str], body: bytes, now: float) -> RejectReason | None:
        """``None`` if the signature verifies and is fresh, else why not. ``headers`` must be
        lower-cased."""
        signature = headers.get("wechatpay-signature", "")
        timestamp = headers.get("wechatpay-timestamp", "")
        nonce_str = headers.get("wechatpay-nonce", "")
        serial = headers.get("wechatpay-serial", "")
        if signature.startswith(SIGNATURE_PROBE_PREFIX):
            return "signature_probe"
        if not (signature and timestamp.isdigit() and nonce_str and serial):
            return "malformed"
        if abs(now - int(timestamp)) > NOTIFICATION_MAX_AGE_SECONDS:
            return "expired"
        key = self.key_for(serial)
        if key is None:
            return "unknown_key"
        if not _rsa.verify(key, response_message(timestamp, nonce_str, body), signature):
            return "bad_signature"
        return None


def sign_response(
    key: rsa.RSAPrivateKey, serial: str, body: bytes, timestamp: str
) -> dict[str, str]:
    """The headers WeChat Pay puts on an answer or a notification (used by the simulator and
    by tests; WeChat Pay itself holds the private key)."""
    nonce_str = nonce()
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce_str,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature": _rsa.sign_bytes(key, response_message(timestamp, nonce_str, body)),
        "Wechatpay-Signature-Type": AUTH_SCHEMA,
    }


def decrypt_resource(apiv3_key: bytes, resource: Mapping[str, Any]) -> dict[str, Any]:
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise NotificationRejected("decrypt_failed", f"algorithm {resource.get('algorithm')!r}")
    try:
        nonce_bytes = str(resource["nonce"]).encode()
        associated = str(resource.get("associated_data") or "").encode()
        ciphertext = base64.b64decode(str(resource["ciphertext"]), validate=True)
        plain = AESGCM(apiv3_key).decrypt(nonce_bytes, ciphertext, associated)
        data = json.loads(plain)
    except (KeyError, InvalidTag, binascii.Error, ValueError) as exc:
        raise NotificationRejected("decrypt_failed", type(exc).__name__) from None
    if not isinstance(data, dict):
        raise NotificationRejected("decrypt_failed", "not an object")
    return data


def encrypt_resource(
    apiv3_key: bytes, plain: Mapping[str, Any], original_type: str, associated_data: str
) -> dict[str, str]:
    """The ``resource`` object of a notification (the simulator's and the tests' side)."""
    nonce_str = secrets.token_hex(6)  # WeChat Pay uses 12-character nonces
    data = json.dumps(plain, ensure_ascii=False).encode()
    ciphertext = AESGCM(apiv3_key).encrypt(nonce_str.encode(), data, associated_data.encode())
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce_str,
    }
