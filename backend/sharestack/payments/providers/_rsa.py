"""SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256), the one signature both providers use, and key
loading from the PEM files the merchant consoles hand out."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def load_private_key(pem: bytes | str | Path) -> rsa.RSAPrivateKey:
    """A PKCS#8 or PKCS#1 PEM private key; a bare base64 body (as Alipay's key tool prints it)
    is wrapped first."""
    data = _read(pem)
    if b"-----BEGIN" not in data:
        data = b"-----BEGIN PRIVATE KEY-----\n" + data.strip() + b"\n-----END PRIVATE KEY-----\n"
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("expected an RSA private key")
    return key


def load_public_key(pem: bytes | str | Path) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key, a PEM X.509 certificate (WeChat Pay platform
    certificates) or a bare base64 body (Alipay's console shows the public key that way)."""
    data = _read(pem)
    key: object
    if b"BEGIN CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        if b"-----BEGIN" not in data:
            data = b"-----BEGIN PUBLIC KEY-----\n" + data.strip() + b"\n-----END PUBLIC KEY-----\n"
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("expected an RSA public key")
    return key


def certificate_serial(pem: bytes | str | Path) -> str:
    """The serial number as WeChat Pay prints it (upper-case hex)."""
    return f"{x509.load_pem_x509_certificate(_read(pem)).serial_number:X}"


def sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return sign_bytes(key, message.encode("utf-8"))


def sign_bytes(key: rsa.RSAPrivateKey, message: bytes) -> str:
    raw = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def verify(key: rsa.RSAPublicKey, message: str | bytes, signature_b64: str) -> bool:
    data = message.encode("utf-8") if isinstance(message, str) else message
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _read(pem: bytes | str | Path) -> bytes:
    if isinstance(pem, Path):
        return pem.read_bytes()
    return pem.encode("ascii") if isinstance(pem, str) else pem
