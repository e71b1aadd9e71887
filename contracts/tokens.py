"""Claim tokens: what a claim link carries. Shared by the badge service, which checks them, and
the notifier, which mails them.

A token is the offer's (or badge's) id with an HMAC-SHA256 tag under a secret key, cut to 128
bits: unguessable without the key, never stored, never in an event, and the same on every
replay. Whether a link still works (claimed, expired, regenerated) is the badge's state.

Keys form a ring: new tokens are tagged with the first key, and a token tagged with any key of
the ring is accepted, so `CLAIM_TOKEN_SECRET` can be rotated without breaking links already
mailed (the old secret moves to `CLAIM_TOKEN_PREVIOUS_SECRETS` until those links have expired).

Sign-in tokens (a learner's link back into a quest) carry their own expiry inside the tagged
body: they sign a browser in, so a link found in an old mailbox must stop working. So do an
organiser's sign-in tokens (the console's emailed link, made by the notifier and checked by the
activity service), which also work once: the activity service remembers which it took.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TAG_BYTES = 16
PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx"}


def _check_secret(value: str) -> str:
    if len(value) < 32 or value.lower() in PLACEHOLDERS or len(set(value)) < 8:
        raise ValueError("a claim token secret must be a long random value, not a placeholder")
    return value


class ClaimTokenSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    claim_token_secret: str = Field(min_length=32, validation_alias="CLAIM_TOKEN_SECRET")
    # Secrets rotated out, comma-separated: links tagged with them still work.
    claim_token_previous_secrets: str = Field(
        default="", validation_alias="CLAIM_TOKEN_PREVIOUS_SECRETS"
    )
    # How long an emailed sign-in link (a fresh link, a "returned with feedback" link) works.
    sign_in_link_days: int = Field(default=7, ge=1, le=90, validation_alias="SIGN_IN_LINK_DAYS")

    @field_validator("claim_token_secret")
    @classmethod
    def _not_a_placeholder(cls, value: str) -> str:
        return _check_secret(value)

    @field_validator("claim_token_previous_secrets")
    @classmethod
    def _previous_not_placeholders(cls, value: str) -> str:
        for secret in _split(value):
            _check_secret(secret)
        return value

    @property
    def previous_secrets(self) -> tuple[str, ...]:
        return _split(self.claim_token_previous_secrets)


def _split(secrets: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in secrets.split(",") if part.strip())


@dataclass(frozen=True)
class PersonalToken:
    offer_id: uuid.UUID


@dataclass(frozen=True)
class OpenToken:
    badge_class_id: uuid.UUID
    generation: int


@dataclass(frozen=True)
class SignIn:
    """What a sign-in token names, once its tag checks out."""

    quest_id: uuid.UUID
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class OrganiserSignIn:
    """What an organiser's sign-in token names, once its tag checks out."""

    request_id: uuid.UUID
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw(token: str, prefix: str, size: int) -> tuple[bytes, bytes] | None:
    """(body, tag) of a well-formed token of this kind, else None."""
    if len(token) > 80 or not token.startswith(prefix):
        return None
    try:
        raw = _unb64(token[1:])
    except (binascii.Error, ValueError):
        return None
    if len(raw) != size + TAG_BYTES:
        return None
    return raw[:size], raw[size:]


class ClaimTokens:
    def __init__(self, secret: str, previous: Sequence[str] = (), sign_in_days: int = 7) -> None:
        self._keys = tuple(
            hashlib.sha256(("claim-tokens:" + s).encode()).digest() for s in (secret, *previous)
        )
        self.sign_in_lifetime = timedelta(days=sign_in_days)

    @classmethod
    def from_settings(cls, settings: ClaimTokenSettings) -> ClaimTokens:
        return cls(
            settings.claim_token_secret, settings.previous_secrets, settings.sign_in_link_days
        )

    def _tag(self, kind: bytes, body: bytes, key: bytes | None = None) -> bytes:
        return hmac.new(key or self._keys[0], kind + body, hashlib.sha256).digest()[:TAG_BYTES]

    def _valid(self, tag: bytes, kind: bytes, body: bytes) -> bool:
        # Every key is tried (no early exit), so the time taken says nothing about which.
        results = [hmac.compare_digest(tag, self._tag(kind, body, key)) for key in self._keys]
        return any(results)

    def personal(self, offer_id: uuid.UUID) -> str:
        body = offer_id.bytes
        return "p" + _b64(body + self._tag(b"p", body))

    def open(self, badge_class_id: uuid.UUID, generation: int) -> str:
        body = badge_class_id.bytes + generation.to_bytes(4, "big")
        return "o" + _b64(body + self._tag(b"o", body))

    @staticmethod
    def _review_kind(reviewer: str) -> bytes:
        return b"r" + reviewer.lower().encode() + b"\x00"

    def review(self, submission_id: uuid.UUID, reviewer: str) -> str:
        """A reviewer's link to one submission; it works for that reviewer's address only."""
        body = submission_id.bytes
        return "r" + _b64(body + self._tag(self._review_kind(reviewer), body))

    def read_review(self, token: str, reviewer: str) -> uuid.UUID | None:
        """The submission a review token names, if it was made for this reviewer."""
        parts = _raw(token, "r", 16)
        if parts is None:
            return None
        body, tag = parts
        valid = self._valid(tag, self._review_kind(reviewer), body)
        return uuid.UUID(bytes=body) if valid else None

    @staticmethod
    def _sign_in_kind(learner: str) -> bytes:
        return b"s" + learner.lower().encode() + b"\x00"

    def sign_in(self, quest_id: uuid.UUID, learner: str, issued_at: datetime) -> str:
        """A learner's link into one quest, bound to their address, working until
        `issued_at` plus the sign-in lifetime (the cause's time: the same token on replay)."""
        expires = int((issued_at + self.sign_in_lifetime).timestamp())
        body = quest_id.bytes + expires.to_bytes(5, "big")
        return "s" + _b64(body + self._tag(self._sign_in_kind(learner), body))

    def read_sign_in(self, token: str, learner: str) -> SignIn | None:
        """What a sign-in token names, if it was made for this learner; check `expired`."""
        parts = _raw(token, "s", 21)
        if parts is None:
            return None
        body, tag = parts
        if not self._valid(tag, self._sign_in_kind(learner), body):
            return None
        expires = datetime.fromtimestamp(int.from_bytes(body[16:], "big"), UTC)
        return SignIn(uuid.UUID(bytes=body[:16]), expires)

    def organiser_sign_in(self, request_id: uuid.UUID, expires_at: datetime) -> str:
        """An organiser's one-time console sign-in link's token, for one sign-in request
        (`OrganiserSignInRequested`), working until `expires_at`."""
        body = request_id.bytes + int(expires_at.timestamp()).to_bytes(5, "big")
        return "c" + _b64(body + self._tag(b"c", body))

    def read_organiser_sign_in(self, token: str) -> OrganiserSignIn | None:
        """What an organiser's sign-in token names; check `expired`, and whether it was used."""
        parts = _raw(token, "c", 21)
        if parts is None:
            return None
        body, tag = parts
        if not self._valid(tag, b"c", body):
            return None
        expires = datetime.fromtimestamp(int.from_bytes(body[16:], "big"), UTC)
        return OrganiserSignIn(uuid.UUID(bytes=body[:16]), expires)

    @staticmethod
    def _address_kind(learner: str) -> bytes:
        return b"a" + learner.lower().encode() + b"\x00"

    def address_sign_in(self, learner: str, issued_at: datetime) -> str:
        """A link that proves a learner holds an address and signs them in to their home (and
        quests), working until `issued_at` plus the sign-in lifetime. It names no quest: the
        address it was mailed to is the whole of what it proves."""
        expires = int((issued_at + self.sign_in_lifetime).timestamp())
        body = expires.to_bytes(5, "big")
        return "a" + _b64(body + self._tag(self._address_kind(learner), body))

    def read_address_sign_in(self, token: str, learner: str) -> datetime | None:
        """When an address sign-in token made for this learner expires (check it), else None."""
        parts = _raw(token, "a", 5)
        if parts is None:
            return None
        body, tag = parts
        if not self._valid(tag, self._address_kind(learner), body):
            return None
        return datetime.fromtimestamp(int.from_bytes(body, "big"), UTC)

    def read(self, token: str) -> PersonalToken | OpenToken | None:
        """What a token names, or None when it is malformed, forged or tampered with."""
        kind = token[:1]
        parts = _raw(token, kind, 16 if kind == "p" else 20) if kind in ("p", "o") else None
        if parts is None:
            return None
        body, tag = parts
        if not self._valid(tag, kind.encode(), body):
            return None
        if kind == "p":
            return PersonalToken(uuid.UUID(bytes=body))
        return OpenToken(uuid.UUID(bytes=body[:16]), int.from_bytes(body[16:], "big"))
