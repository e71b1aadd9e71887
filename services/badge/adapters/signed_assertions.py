"""Signed Open Badges 2.0 Assertions: a JWS (RS256, compact serialization) of the Assertion,
with the issuer's RSA key. RSASSA-PKCS1-v1_5 is deterministic, so the same Assertion and key
always give the same JWS."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def new_key() -> tuple[str, bytes]:
    """A new RSA-2048 key: its public half as PEM, its private half as PKCS#8 DER."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode(), der


def sign(document: dict[str, Any], private_key_der: bytes) -> str:
    private = serialization.load_der_private_key(private_key_der, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    header = _b64(json.dumps({"alg": "RS256"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"
