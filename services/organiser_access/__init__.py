"""Who an organiser API key belongs to, for every service that serves organisers.

Each such service keeps its own copy of the key hashes, projected from `activity.events` by
`key_projections`, and checks keys against it: a key revoked there (`OrganiserKeyRevoked`, or
every key of an `OrganiserRemoved` organiser) is refused by each service as soon as its consumer
applies the event. A key with an expiry (a console session, `purpose` "session") is refused
from its `expires_at` on. The key format is `contracts.organiser_keys`; keys are issued by the
activity service.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from contracts import Envelope
from contracts.activity import OrganiserKeyIssued, OrganiserKeyRevoked, OrganiserRemoved
from contracts.organiser_keys import MalformedKey, parse_api_key, secret_sha256
from services.kernel.errors import Unauthenticated
from services.kernel.handlers import Handlers
from services.kernel.unit_of_work import UnitOfWork
from services.kernel.web.openapi import requires_api_key

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
ALTER TABLE organiser_keys ADD COLUMN IF NOT EXISTS purpose text NOT NULL DEFAULT 'api';
ALTER TABLE organiser_keys ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE organiser_keys ADD COLUMN IF NOT EXISTS started_from text;
CREATE INDEX IF NOT EXISTS organiser_keys_by_organiser ON organiser_keys (organiser_id);
"""


@dataclass(frozen=True)
class Organiser:
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID

    @property
    def actor(self) -> str:
        return f"organiser:{self.organiser_id}"


def presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if "x-api-key" in request.headers:
        return request.headers["x-api-key"].strip()
    raise Unauthenticated("an organiser API key is required: send 'Authorization: Bearer obk_...'")


async def authenticate(pool: asyncpg.Pool, request: Request) -> Organiser:
    try:
        key_id, secret = parse_api_key(presented_key(request))
    except MalformedKey as error:
        raise Unauthenticated(str(error)) from error
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT organiser_id, organisation_id, secret_sha256, revoked, expires_at "
            "FROM organiser_keys WHERE key_id = $1",
            key_id,
        )
    if row is None or not hmac.compare_digest(row["secret_sha256"], secret_sha256(secret)):
        raise Unauthenticated("the API key is not valid")
    if row["revoked"]:
        raise Unauthenticated("the API key has been revoked")
    if row["expires_at"] is not None and row["expires_at"] <= datetime.now(UTC):
        raise Unauthenticated("the session has expired: sign in again")
    return Organiser(row["organiser_id"], row["organisation_id"])


@requires_api_key
async def _current_organiser(request: Request) -> Organiser:
    return await authenticate(request.app.state.runtime.pool, request)


# The organiser behind the request's API key: a route parameter of this type requires one.
CurrentOrganiser = Annotated[Organiser, Depends(_current_organiser)]


async def project_key_issued(uow: UnitOfWork, envelope: Envelope[OrganiserKeyIssued]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO organiser_keys (key_id, organiser_id, organisation_id, secret_sha256, "
        "issued_at, purpose, expires_at, started_from) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key_id) DO NOTHING",
        event.key_id,
        event.organiser_id,
        event.organisation_id,
        event.secret_sha256,
        envelope.occurred_at,
        event.purpose,
        event.expires_at,
        event.started_from,
    )


async def project_key_revoked(uow: UnitOfWork, envelope: Envelope[OrganiserKeyRevoked]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "UPDATE organiser_keys SET revoked = true, revoked_at = COALESCE(revoked_at, $2) "
        "WHERE key_id = $1",
        event.key_id,
        envelope.occurred_at,
    )


async def project_organiser_removed(uow: UnitOfWork, envelope: Envelope[OrganiserRemoved]) -> None:
    # The removal's own revocations came first; this also covers any key they missed.
    event = envelope.payload
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
