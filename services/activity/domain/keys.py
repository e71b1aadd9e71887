"""Minting organiser API keys: a random id and a random secret, shown once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from contracts.organiser_keys import KEY_ID_LENGTH, api_key, key_prefix, secret_sha256


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str

    @property
    def api_key(self) -> str:
        return api_key(self.key_id, self.secret)

    @property
    def prefix(self) -> str:
        return key_prefix(self.key_id)

    @property
    def secret_sha256(self) -> str:
        return secret_sha256(self.secret)


def new_key() -> NewKey:
    return NewKey(key_id=secrets.token_hex(KEY_ID_LENGTH // 2), secret=secrets.token_urlsafe(32))
