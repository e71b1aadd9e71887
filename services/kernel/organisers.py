"""Organiser API keys. Every service that serves organisers keeps its own copy of the key
hashes, projected from `activity.events`, and checks keys against it: a key revoked there
(`OrganiserKeyRevoked`, or every key of an `OrganiserRemoved` organiser) is refused by each
service as soon as its consumer applies the event. A key is shown once, when issued; after
that only its id (`obk_<key id>`, the part before the secret) recognises it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request

from contracts import Envelope
from contracts.activity import OrganiserKeyIssued, OrganiserKeyRevoked, OrganiserRemoved
from services.kernel.errors import Unauthenticated
from services.kernel.handlers import Handlers
from services.kernel.unit_of_work import UnitOfWork

KEY_PREFIX = "obk_"
KEY_ID_LENGTH = 12

ORGANISER_KEYS_DDL = """
CREATE TABLE IF NOT EXISTS organiser_keys (
    key_id text PRIMARY KEY,
    organiser_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    secret_sha256 text NOT NULL,
    revoked boolean NOT NULL DEFAULT false
);
ALTER TABLE organiser_keys ADD COLUMN IF NOT EXISTS issued_at timestamptz;
ALTER TABLE organiser_keys ADD COLUMN IF NOT EXISTS revoked_at timestamptz;
CREATE INDEX IF NOT EXISTS organiser_keys_by_organiser ON organiser_keys (organiser_id);
"""


@dataclass(frozen=True)
class Organiser:
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID

    @property
    def actor(self) -> str:
        return f"organiser:{self.organiser_id}"


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str

    @property
    def api_key(self) -> str:
        return f"{KEY_PREFIX}{self.key_id}_{self.secret}"

    @property
    def prefix(self) -> str:
        return key_prefix(self.key_id)

    @property
    def secret_sha256(self) -> str:
        return _sha256(self.secret)


def new_key() -> NewKey:
    # 256 bits of secret: a plain SHA-256 is enough to store it, no slow hash needed.
    return NewKey(key_id=secrets.token_hex(KEY_ID_LENGTH // 2), secret=secrets.token_urlsafe(32))


def key_prefix(key_id: str) -> str:
    """What recognises a key in lists and logs: its start, without the secret."""
    return f"{KEY_PREFIX}{key_id}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _parse(api_key: str) -> tuple[str, str]:
    if not api_key.startswith(KEY_PREFIX) or len(api_key) < len(KEY_PREFIX) + KEY_ID_LENGTH + 2:
        raise Unauthenticated("the API key is malformed; it starts with 'obk_'")
    key_id = api_key[len(KEY_PREFIX) : len(KEY_PREFIX) + KEY_ID_LENGTH]
    separator = api_key[len(KEY_PREFIX) + KEY_ID_LENGTH]
    if separator != "_":
        raise Unauthenticated("the API key is malformed; it starts with 'obk_'")
    return key_id, api_key[len(KEY_PREFIX) + KEY_ID_LENGTH + 1 :]


def presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if "x-api-key" in request.headers:
        return request.headers["x-api-key"].strip()
    raise Unauthenticated("an organiser API key is required: send 'Authorization: Bearer obk_...'")


async def authenticate(pool: asyncpg.Pool, request: Request) -> Organiser:
    key_id, secret = _parse(presented_key(request))
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT organiser_id, organisation_id, secret_sha256, revoked "
            "FROM organiser_keys WHERE key_id = $1",
            key_id,
        )
    if row is None or not hmac.compare_digest(row["secret_sha256"], _sha256(secret)):
        raise Unauthenticated("the API key is not valid")
    if row["revoked"]:
        raise Unauthenticated("the API key has been revoked")
    return Organiser(row["organiser_id"], row["organisation_id"])


async def _current_organiser(request: Request) -> Organiser:
    return await authenticate(request.app.state.runtime.pool, request)


# The organiser behind the request's API key: a route parameter of this type requires one.
CurrentOrganiser = Annotated[Organiser, Depends(_current_organiser)]


async def project_key_issued(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OrganiserKeyIssued = envelope.payload
    uow.conn.defer(
        "INSERT INTO organiser_keys "
        "(key_id, organiser_id, organisation_id, secret_sha256, issued_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_id) DO NOTHING",
        event.key_id,
        event.organiser_id,
        event.organisation_id,
        event.secret_sha256,
        envelope.occurred_at,
    )


async def project_key_revoked(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OrganiserKeyRevoked = envelope.payload
    uow.conn.defer(
        "UPDATE organiser_keys SET revoked = true, revoked_at = COALESCE(revoked_at, $2) "
        "WHERE key_id = $1",
        event.key_id,
        envelope.occurred_at,
    )


async def project_organiser_removed(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    # The removal's own revocations came first; this also covers any key they missed.
    event: OrganiserRemoved = envelope.payload
    uow.conn.defer(
        "UPDATE organiser_keys SET revoked = true, revoked_at = COALESCE(revoked_at, $2) "
        "WHERE organiser_id = $1",
        event.organiser_id,
        envelope.occurred_at,
    )


def key_projections() -> Handlers:
    return (
        Handlers()
        .project(OrganiserKeyIssued, project_key_issued)
        .project(OrganiserKeyRevoked, project_key_revoked)
        .project(OrganiserRemoved, project_organiser_removed)
    )
