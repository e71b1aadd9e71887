"""Endorsements: an organisation vouches for another organisation's badge. Served as an Open
Badges 2.0 Endorsement and as a signed 3.0 EndorsementCredential; the badge page shows them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contracts import new_envelope
from contracts.badge import BadgeClassEndorsed
from services.badge.adapters import credential_store, read_models
from services.badge.domain.credentials import (
    CREDENTIAL_MEDIA_TYPE,
    check_endorsement,
    current_key,
    endorsement_credential,
)
from services.badge.entrypoints.credential_access import signer_of
from services.badge.entrypoints.dependencies import BadgeWeb, Web
from services.badge.entrypoints.open_badges import CONTEXT, MEDIA_TYPE
from services.kernel.errors import NotFound
from services.kernel.unit_of_work import UnitOfWork
from services.kernel.web.route_notes import RouteNote
from services.organiser_access import CurrentOrganiser

ROUTE_NOTES = {
    "GET /ob/endorsements/{endorsement_id}": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/endorsements/{endorsement_id}/credential": RouteNote(
        media_types=(CREDENTIAL_MEDIA_TYPE,)
    ),
}

router = APIRouter(tags=["endorsements"])


class EndorsementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[
        str,
        Field(min_length=1, max_length=5_000, description="Why your organisation vouches for it."),
    ]


@router.post("/v1/badges/{badge_class_id}/endorsements", status_code=201)
async def endorse(
    badge_class_id: uuid.UUID, body: EndorsementIn, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """Endorse another organisation's badge (any badge's id is public, in its documents)."""
    signer = signer_of(web)
    endorser_id = organiser.organisation_id
    endorsement_id = uuid.uuid4()

    async def work(uow: UnitOfWork) -> None:
        badge = check_endorsement(
            await read_models.get_badge_class(uow.conn, badge_class_id), endorser_id
        )
        version = await uow.lock_stream(endorser_id)
        endorser = await credential_store.issuer(uow.conn, endorser_id)
        keys = await credential_store.issuer_keys(uow.conn, endorser_id)
        if endorser is None:
            raise NotFound("your organisation is not known to the badge service yet")
        now = datetime.now(UTC).replace(microsecond=0)
        document = endorsement_credential(
            signer.urls,
            endorsement_id=endorsement_id,
            endorser=endorser,
            badge=badge,
            comment=body.comment,
            endorsed_at=now,
        )
        event = BadgeClassEndorsed(
            endorsement_id=endorsement_id,
            endorser_id=endorser_id,
            badge_class_id=badge_class_id,
            comment=body.comment,
            credential=signer.sign(document, current_key(keys), now),
        )
        await uow.emit(
            new_envelope(
                event,
                event_id=endorsement_id,
                stream_id=endorser_id,
                stream_version=version + 1,
                actor=organiser.actor,
                occurred_at=now,
            )
        )

    await web.runtime.execute(work)
    return {
        "endorsement_id": str(endorsement_id),
        "endorsement_url": signer.urls.endorsement(endorsement_id),
        "credential_url": signer.urls.endorsement_credential(endorsement_id),
    }


async def _found(web: BadgeWeb, endorsement_id: uuid.UUID) -> dict[str, Any]:
    async with web.runtime.pool.acquire() as conn:
        found = await credential_store.endorsement(conn, endorsement_id)
    if found is None:
        raise NotFound("endorsement not found")
    return found


@router.get("/ob/endorsements/{endorsement_id}")
async def endorsement(endorsement_id: uuid.UUID, web: Web) -> JSONResponse:
    """The Open Badges 2.0 Endorsement (hosted)."""
    found = await _found(web, endorsement_id)
    signer = signer_of(web)
    return JSONResponse(
        {
            "@context": CONTEXT,
            "type": "Endorsement",
            "id": signer.urls.endorsement(endorsement_id),
            "claim": {
                "id": web.urls.badge_class(found["badge_class_id"]),
                "endorsementComment": found["comment"],
            },
            "issuer": web.urls.issuer(found["endorser_id"]),
            "issuedOn": found["endorsed_at"].isoformat().replace("+00:00", "Z"),
            "verification": {"type": "hosted"},
        },
        media_type=MEDIA_TYPE,
        headers={"Access-Control-Allow-Origin": "*"},
    )


@router.get("/ob/endorsements/{endorsement_id}/credential")
async def endorsement_as_credential(endorsement_id: uuid.UUID, web: Web) -> Response:
    """The signed Open Badges 3.0 EndorsementCredential, byte for byte as signed."""
    found = await _found(web, endorsement_id)
    return Response(
        found["credential"],
        media_type=CREDENTIAL_MEDIA_TYPE,
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def endorsements_shown(web: BadgeWeb, badge_class_id: uuid.UUID) -> list[dict[str, Any]]:
    """What the badge page lists: who endorsed the badge, what they said, the documents."""
    if web.credentials is None:
        return []
    async with web.runtime.pool.acquire() as conn:
        found = await credential_store.endorsements_of(conn, badge_class_id)
    return [
        {
            "endorser": row["endorser_name"] or "An organisation",
            "comment": row["comment"],
            "on": row["endorsed_at"].date().isoformat(),
            "url": web.credentials.urls.endorsement(row["endorsement_id"]),
            "credential_url": web.credentials.urls.endorsement_credential(row["endorsement_id"]),
            "signed_by": json.loads(row["credential"])["issuer"]["id"],
        }
        for row in found
    ]
