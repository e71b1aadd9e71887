"""Issuers' Ed25519 signing keys, derived from the operator's secret and never stored.

Each organisation's key of generation n is HKDF-SHA256 over the operator secret
(`BADGE_ISSUER_KEY_SECRETS`) with the organisation's id and n: the same secret gives the same
keys on every machine and after every rebuild, so nothing private is in an event, a table or
an answer. Events carry only the public key, its generation and the secret's fingerprint, which
says which secret of the ring a key was derived from (the first signs new keys; older ones stay
to sign with keys made under them, as after a rotation of the secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SALT = b"open-badges issuer keys v1"
MIN_SECRET_LENGTH = 32


class MissingIssuerKeySecret(RuntimeError):
    """A key is needed that no configured secret derives: the operator must restore it."""


def fingerprint(secret: str) -> str:
    """Names a secret without revealing it (16 hex digits of a keyed hash)."""
    return hmac.new(secret.encode(), b"fingerprint", hashlib.sha256).hexdigest()[:16]


class IssuerKeys:
    def __init__(self, secrets: tuple[str, ...]) -> None:
        for secret in secrets:
            if len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"each issuer key secret has at least {MIN_SECRET_LENGTH} characters"
                )
        self._secrets = {fingerprint(secret): secret for secret in secrets}
        self._current = fingerprint(secrets[0]) if secrets else None

    @classmethod
    def from_setting(cls, value: str) -> IssuerKeys:
        return cls(tuple(part.strip() for part in value.split(",") if part.strip()))

    @property
    def configured(self) -> bool:
        return self._current is not None

    @property
    def current_secret_id(self) -> str:
        if self._current is None:
            raise MissingIssuerKeySecret("BADGE_ISSUER_KEY_SECRETS is not set")
        return self._current

    def private_key(
        self, issuer_id: uuid.UUID, generation: int, secret_id: str
    ) -> Ed25519PrivateKey:
        secret = self._secrets.get(secret_id)
        if secret is None:
            raise MissingIssuerKeySecret(
                f"no secret in BADGE_ISSUER_KEY_SECRETS has fingerprint {secret_id} "
                f"(issuer {issuer_id}, key {generation}): restore it from the backup"
            )
        seed = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=_SALT,
            info=f"ed25519:{issuer_id}:{generation}".encode(),
        ).derive(secret.encode())
        return Ed25519PrivateKey.from_private_bytes(seed)

    def _wrapping_key(self, issuer_id: uuid.UUID, secret_id: str) -> AESGCM:
        secret = self._secrets.get(secret_id)
        if secret is None:
            raise MissingIssuerKeySecret(
                f"no secret in BADGE_ISSUER_KEY_SECRETS has fingerprint {secret_id} "
                f"(issuer {issuer_id}'s signing key for Open Badges 2.0): restore it"
            )
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=_SALT,
            info=f"rsa-key-wrapping:{issuer_id}".encode(),
        ).derive(secret.encode())
        return AESGCM(key)

    def wrap(self, issuer_id: uuid.UUID, private_key_der: bytes) -> str:
        """The private key sealed for an event: only the operator's secret opens it."""
        nonce = os.urandom(12)
        sealed = self._wrapping_key(issuer_id, self.current_secret_id).encrypt(
            nonce, private_key_der, str(issuer_id).encode()
        )
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def unwrap(self, issuer_id: uuid.UUID, secret_id: str, wrapped: str) -> bytes:
        data = base64.urlsafe_b64decode(wrapped)
        return self._wrapping_key(issuer_id, secret_id).decrypt(
            data[:12], data[12:], str(issuer_id).encode()
        )

    def status_index_key(self, issuer_id: uuid.UUID) -> bytes:
        """A key under which an issuer's status list indexes are drawn (see status_lists)."""
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=_SALT,
            info=f"status-list-index:{issuer_id}".encode(),
        ).derive(self._secrets[self.current_secret_id].encode())
