"""Organiser API: who you are, your organisation's organisers (admins add, remove and promote
them) and its API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, EmailStr, Field

from contracts.activity import OrganiserAdded
from contracts.organiser_keys import KEY_PREFIX, key_prefix
from services.activity import service_layer
from services.activity.adapters import read_models
from services.activity.entrypoints.bodies import Body, LimitsOf, Runtime
from services.organiser_access import CurrentOrganiser

Name = Annotated[str, LimitsOf(OrganiserAdded, "name")]

router = APIRouter(prefix="/v1")


class NewOrganiser(Body):
    name: Name
    email: EmailStr
    admin: bool = Field(
        default=False, strict=True, description="Make them an admin of the organisation too."
    )


class OrganiserKeyOut(BaseModel):
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    key_id: str
    prefix: str = Field(description="What recognises the key in `GET /v1/keys` later.")
    api_key: str = Field(description="Shown this once only; store it safely.")

    @classmethod
    def of(cls, issued: service_layer.OrganiserWithKey) -> OrganiserKeyOut:
        return cls(**vars(issued), prefix=key_prefix(issued.key_id))


class OrganiserOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    admin: bool
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> OrganiserOut:
        return cls(
            id=row["organiser_id"],
            name=row["name"],
            email=row["email"],
            admin=row["is_admin"],
            created_at=row["created_at"],
        )


class KeyOut(BaseModel):
    key_id: str
    prefix: str = Field(description="The start of the key, `obk_<key_id>`; never the secret.")
    organiser_id: uuid.UUID
    organiser_name: str | None
    issued_at: datetime | None
    revoked: bool
    revoked_at: datetime | None
    purpose: Literal["api", "session"] = Field(
        default="api", description="`api`: for integrations; `session`: a console sign-in."
    )
    expires_at: datetime | None = Field(default=None, description="A session's end; else null.")
    started_from: str | None = Field(
        default=None, description="Where a session was started (browser and address)."
    )


@router.get("/me", tags=["organisers"])
async def me(organiser: CurrentOrganiser, runtime: Runtime) -> dict[str, Any]:
    async with runtime.pool.acquire() as conn:
        organisation = await read_models.get_organisation(conn, organiser.organisation_id)
        person = await read_models.get_organiser(conn, organiser.organiser_id)
    return {"organiser": person, "organisation": organisation}


@router.get("/organisers", tags=["organisers"])
async def list_organisers(organiser: CurrentOrganiser, runtime: Runtime) -> list[OrganiserOut]:
    """Your organisation's organisers (removed ones are not listed), admins marked."""
    async with runtime.pool.acquire() as conn:
        rows = await read_models.list_organisers(conn, organiser.organisation_id)
    return [OrganiserOut.of(row) for row in rows]


@router.post("/organisers", status_code=201, tags=["organisers"])
async def add_organiser(
    body: NewOrganiser, organiser: CurrentOrganiser, runtime: Runtime
) -> OrganiserKeyOut:
    """Add a colleague to your organisation (admins only); their API key is in this answer
    only."""
    added = await service_layer.add_organiser(
        runtime, organiser, organiser.organisation_id, body.name, str(body.email), admin=body.admin
    )
    return OrganiserKeyOut.of(added)


@router.post("/organisers/{organiser_id}/admin", tags=["organisers"])
async def make_admin(
    organiser_id: uuid.UUID, organiser: CurrentOrganiser, runtime: Runtime
) -> OrganiserOut:
    """Make a colleague an admin too (admins only)."""
    await service_layer.make_admin(runtime, organiser, organiser_id)
    async with runtime.pool.acquire() as conn:
        row = await read_models.get_organiser(conn, organiser_id)
    assert row is not None
    return OrganiserOut.of(row)


@router.post("/organisers/{organiser_id}/remove", status_code=204, tags=["organisers"])
async def remove_organiser(
    organiser_id: uuid.UUID, organiser: CurrentOrganiser, runtime: Runtime
) -> Response:
    """Remove a colleague (admins only, never yourself): every key they hold is revoked."""
    await service_layer.remove_organiser(runtime, organiser, organiser_id)
    return Response(status_code=204)


@router.get("/keys", tags=["keys"])
async def list_keys(organiser: CurrentOrganiser, runtime: Runtime) -> list[KeyOut]:
    """Your organisation's API keys, by prefix only: a key is never shown again."""
    async with runtime.pool.acquire() as conn:
        rows = await read_models.list_keys(conn, organiser.organisation_id)
    return [KeyOut(**row) for row in rows]


@router.post("/keys", status_code=201, tags=["keys"])
async def issue_key(organiser: CurrentOrganiser, runtime: Runtime) -> OrganiserKeyOut:
    """A new API key for yourself (to replace one you then revoke); shown this once."""
    issued = await service_layer.issue_key(runtime, organiser, organiser.organiser_id)
    return OrganiserKeyOut.of(issued)


@router.post("/keys/{key_id}/revoke", tags=["keys"])
async def revoke_key(key_id: str, organiser: CurrentOrganiser, runtime: Runtime) -> KeyOut:
    """Revoke one of your keys (an admin: any of the organisation's). Every service
    refuses it within a second. Accepts the key id or its `obk_` prefix."""
    key_id = key_id.removeprefix(KEY_PREFIX)
    await service_layer.revoke_key(runtime, organiser, key_id)
    async with runtime.pool.acquire() as conn:
        rows = await read_models.list_keys(conn, organiser.organisation_id)
    return next(KeyOut(**row) for row in rows if row["key_id"] == key_id)
