"""Claim tokens: what a claim link carries. Shared by the badge service, which checks them, and
the notifier, which mails them.

A token is the offer's (or badge's) id with an HMAC-SHA256 tag under a secret key, cut to 128
bits: unguessable without the key, never stored, never in an event, and the same on every
replay. Whether a link still works (claimed, expired, regenerated) is the badge's state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TAG_BYTES = 16
PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx"}


class ClaimTokenSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    claim_token_secret: str = Field(min_length=32, validation_alias="CLAIM_TOKEN_SECRET")

    @field_validator("claim_token_secret")
    @classmethod
    def _not_a_placeholder(cls, value: str) -> str:
        if value.lower() in PLACEHOLDERS or len(set(value)) < 8:
            raise ValueError("CLAIM_TOKEN_SECRET must be a long random value, not a placeholder")
        return value


@dataclass(frozen=True)
class PersonalToken:
    offer_id: uuid.UUID


@dataclass(frozen=True)
class OpenToken:
    badge_class_id: uuid.UUID
    generation: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ClaimTokens:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("claim-tokens:" + secret).encode()).digest()

    def _tag(self, kind: bytes, body: bytes) -> bytes:
        return hmac.new(self._key, kind + body, hashlib.sha256).digest()[:TAG_BYTES]

    def personal(self, offer_id: uuid.UUID) -> str:
        body = offer_id.bytes
        return "p" + _b64(body + self._tag(b"p", body))

    def open(self, badge_class_id: uuid.UUID, generation: int) -> str:
        body = badge_class_id.bytes + generation.to_bytes(4, "big")
        return "o" + _b64(body + self._tag(b"o", body))

    def review(self, submission_id: uuid.UUID, reviewer: str) -> str:
        """A reviewer's link to one submission; it works for that reviewer's address only."""
        body = submission_id.bytes
        return "r" + _b64(body + self._tag(b"r" + reviewer.lower().encode() + b"\x00", body))

    def read_review(self, token: str, reviewer: str) -> uuid.UUID | None:
        """The submission a review token names, if it was made for this reviewer."""
        if len(token) > 80 or not token.startswith("r"):
            return None
        try:
            raw = _unb64(token[1:])
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 16 + TAG_BYTES:
            return None
        body, tag = raw[:16], raw[16:]
        expected = self._tag(b"r" + reviewer.lower().encode() + b"\x00", body)
        return uuid.UUID(bytes=body) if hmac.compare_digest(tag, expected) else None

    def sign_in(self, quest_id: uuid.UUID, learner: str) -> str:
        """A learner's fresh link into one quest, bound to their address."""
        return "s" + self.review(quest_id, "sign-in:" + learner)[1:]

    def read_sign_in(self, token: str, learner: str) -> uuid.UUID | None:
        if not token.startswith("s"):
            return None
        return self.read_review("r" + token[1:], "sign-in:" + learner)

    def read(self, token: str) -> PersonalToken | OpenToken | None:
        """What a token names, or None when it is malformed, forged or tampered with."""
        if len(token) > 80 or token[:1] not in ("p", "o"):
            return None
        try:
            raw = _unb64(token[1:])
        except (binascii.Error, ValueError):
            return None
        kind = token[0].encode()
        size = 16 if kind == b"p" else 20
        if len(raw) != size + TAG_BYTES:
            return None
        body, tag = raw[:size], raw[size:]
        if not hmac.compare_digest(tag, self._tag(kind, body)):
            return None
        if kind == b"p":
            return PersonalToken(uuid.UUID(bytes=body))
        return OpenToken(uuid.UUID(bytes=body[:16]), int.from_bytes(body[16:], "big"))
