"""Signed Open Badges 2.0, an option per issuer: the organiser turns it on; the Issuer
profile then lists its `publicKey`, and each Assertion is also offered as a JWS with
`verification: signed`. Hosted Assertions stay as they are."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from contracts import new_envelope
from contracts.badge import SignedAssertionsEnabled
from services.badge.adapters import credential_store, read_models, signed_assertions
from services.badge.entrypoints.credential_access import signer_of
from services.badge.entrypoints.dependencies import Web
from services.badge.entrypoints.open_badges import (
    CONTEXT,
    MEDIA_TYPE,
    OpenBadgesUrls,
    assertion_document,
)
from services.kernel.errors import Conflict, Gone, NotFound
from services.kernel.unit_of_work import UnitOfWork
from services.kernel.web.route_notes import RouteNote
from services.organiser_access import CurrentOrganiser

JWS_MEDIA_TYPE = "application/jose"
ROUTE_NOTES = {
    "GET /ob/issuers/{issuer_id}/public-key": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/assertions/{assertion_id}/signed": RouteNote(media_types=(JWS_MEDIA_TYPE,)),
}

router = APIRouter(tags=["open badges"])


def public_key_url(urls: OpenBadgesUrls, issuer_id: object) -> str:
    return f"{urls.issuer(issuer_id)}/public-key"


async def issuer_public_key(web: Any, issuer_id: uuid.UUID) -> dict[str, Any]:
    """What the Issuer profile adds when its Assertions are signed."""
    async with web.runtime.pool.acquire() as conn:
        found = await credential_store.rsa_key(conn, issuer_id)
    return {} if found is None else {"publicKey": public_key_url(web.urls, issuer_id)}


@router.post("/v1/issuer/signed-assertions", tags=["issuer keys"])
async def enable(organiser: CurrentOrganiser, web: Web) -> dict[str, Any]:
    """Offer your organisation's Open Badges 2.0 Assertions signed too (JWS, RS256)."""
    signer = signer_of(web)
    issuer_id = organiser.organisation_id

    async def work(uow: UnitOfWork) -> None:
        version = await uow.lock_stream(issuer_id)
        if await credential_store.rsa_key(uow.conn, issuer_id) is not None:
            raise Conflict("signed assertions are already on")
        pem, der = signed_assertions.new_key()
        event = SignedAssertionsEnabled(
            issuer_id=issuer_id,
            public_key_pem=pem,
            wrapped_private_key=signer.keys.wrap(issuer_id, der),
            secret_id=signer.keys.current_secret_id,
        )
        await uow.emit(
            new_envelope(
                event, stream_id=issuer_id, stream_version=version + 1, actor=organiser.actor
            )
        )

    await web.runtime.execute(work)
    return {"signed_assertions": True, "public_key": public_key_url(web.urls, issuer_id)}


@router.get("/ob/issuers/{issuer_id}/public-key")
async def public_key(issuer_id: uuid.UUID, web: Web) -> JSONResponse:
    async with web.runtime.pool.acquire() as conn:
        found = await credential_store.rsa_key(conn, issuer_id)
    if found is None:
        raise NotFound("this issuer does not sign its assertions")
    return JSONResponse(
        {
            "@context": CONTEXT,
            "type": "CryptographicKey",
            "id": public_key_url(web.urls, issuer_id),
            "owner": web.urls.issuer(issuer_id),
            "publicKeyPem": found["public_key_pem"],
        },
        media_type=MEDIA_TYPE,
        headers={"Access-Control-Allow-Origin": "*"},
    )


@router.get("/ob/assertions/{assertion_id}/signed")
async def signed(assertion_id: uuid.UUID, web: Web) -> Response:
    """The Assertion as a JWS (compact serialization), `verification: signed`."""
    signer = signer_of(web)
    async with web.runtime.pool.acquire() as conn:
        found = await read_models.get_assertion_row(conn, assertion_id)
        key = await credential_store.rsa_key(conn, found["issuer_id"]) if found else None
    if found is None:
        raise NotFound("assertion not found")
    if key is None:
        raise NotFound("this issuer does not sign its assertions")
    if found["revoked"]:
        raise Gone("this badge was revoked by its issuer: " + found["revocation_reason"])
    document = assertion_document(web.urls, found)
    document["id"] = f"urn:uuid:{assertion_id}"
    document["verification"] = {
        "type": "signed",
        "creator": public_key_url(web.urls, found["issuer_id"]),
    }
    private = signer.keys.unwrap(found["issuer_id"], key["secret_id"], key["wrapped_private_key"])
    return Response(
        signed_assertions.sign(document, private),
        media_type=JWS_MEDIA_TYPE,
        headers={"Access-Control-Allow-Origin": "*"},
    )
