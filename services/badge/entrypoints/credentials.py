"""Open Badges 3.0 for verifiers and wallets: each issuer's did:web DID document, its Profile
and signed Bitstring Status List, and each award's signed OpenBadgeCredential (as JSON, and
baked into the badge image); and for organisers, their organisation's signing keys.

`/ob/assertions/{id}` keeps serving the Open Badges 2.0 Assertion.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.badge import credential_service
from services.badge.adapters import credential_baking, credential_store
from services.badge.adapters.credential_signing import CredentialSigner
from services.badge.domain.credentials import (
    CREDENTIAL_MEDIA_TYPE,
    did_document,
    moment,
    profile_document,
)
from services.badge.entrypoints.credential_access import signer_of
from services.badge.entrypoints.dependencies import Web, load_badge_class
from services.badge.entrypoints.documents import SAFE_IMAGE_HEADERS
from services.badge.entrypoints.rendering import parse_id, wants_html
from services.kernel.errors import NotFound
from services.kernel.web.route_notes import RouteNote
from services.organiser_access import CurrentOrganiser

DID_MEDIA_TYPE = "application/did+ld+json"
LD_JSON = "application/ld+json"
IMAGES = ("image/png", "image/svg+xml")
# A revocation reaches verifiers within seconds; they may keep the list this long.
STATUS_LIST_MAX_AGE = 5
ROUTE_NOTES = {
    "GET /ob/issuers/{issuer_id}/did.json": RouteNote(media_types=(DID_MEDIA_TYPE,)),
    "GET /ob/issuers/{issuer_id}/profile": RouteNote(media_types=(LD_JSON,)),
    "GET /ob/issuers/{issuer_id}/status-list": RouteNote(media_types=(CREDENTIAL_MEDIA_TYPE,)),
    "GET /ob/credentials/{assertion_id}": RouteNote(media_types=(CREDENTIAL_MEDIA_TYPE,)),
    "GET /ob/credentials/{assertion_id}/download": RouteNote(media_types=(CREDENTIAL_MEDIA_TYPE,)),
    "GET /ob/credentials/{assertion_id}/baked": RouteNote(media_types=IMAGES),
}

router = APIRouter(tags=["open badges 3.0"])


def _document(
    body: bytes | str, media_type: str, *, cache: str = "public, max-age=300"
) -> Response:
    data = body.encode() if isinstance(body, str) else body
    return Response(
        data,
        media_type=media_type,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Cache-Control": cache,
            "ETag": '"' + hashlib.sha256(data).hexdigest()[:32] + '"',
        },
    )


def _json(document: dict[str, Any], media_type: str) -> Response:
    return _document(json.dumps(document, ensure_ascii=False), media_type, cache="no-cache")


@router.get("/ob/issuers/{issuer_id}/did.json")
async def issuer_did_document(issuer_id: uuid.UUID, web: Web) -> Response:
    """The issuer's DID document (did:web): every key it has had, as Multikey assertion
    methods; a compromised one with `revoked` from its compromise."""
    signer = signer_of(web)
    async with web.runtime.pool.acquire() as conn:
        keys = await credential_store.issuer_keys(conn, issuer_id)
    if not keys:
        raise NotFound("issuer not found, or it has no signing key yet")
    return _json(did_document(signer.urls, issuer_id, keys), DID_MEDIA_TYPE)


@router.get("/ob/issuers/{issuer_id}/profile")
async def issuer_profile(issuer_id: uuid.UUID, web: Web) -> Response:
    """The issuer as an Open Badges 3.0 Profile; its id is its DID."""
    signer = signer_of(web)
    async with web.runtime.pool.acquire() as conn:
        issuer = await credential_store.issuer(conn, issuer_id)
    if issuer is None:
        raise NotFound("issuer not found")
    return _json(profile_document(signer.urls, issuer), LD_JSON)


@router.get("/ob/issuers/{issuer_id}/status-list")
async def status_list(issuer_id: uuid.UUID, web: Web) -> Response:
    """The issuer's signed BitstringStatusListCredential (revocation, 131,072 entries)."""
    signer = signer_of(web)
    async with web.runtime.pool.acquire() as conn:
        text = await credential_service.signed_status_list(conn, signer, issuer_id)
    if text is None:
        raise NotFound("issuer not found, or it has no signing key yet")
    return _document(text, CREDENTIAL_MEDIA_TYPE, cache=f"public, max-age={STATUS_LIST_MAX_AGE}")


async def _credential(web: Any, assertion_id: uuid.UUID) -> dict[str, Any]:
    async with web.runtime.pool.acquire() as conn:
        found = await credential_store.credential(conn, assertion_id)
    if found is None:
        raise NotFound("no Open Badges 3.0 credential for this award")
    return found


@router.get("/ob/credentials/{assertion_id}", response_model=None)
async def credential(assertion_id: str, request: Request, web: Web) -> Response:
    """The award's signed OpenBadgeCredential, byte for byte as signed; browsers are sent to
    the badge page. A revoked one is still served: its status list says it is revoked."""
    found_id = parse_id(assertion_id)
    if found_id is None:
        raise NotFound("no Open Badges 3.0 credential at this address")
    if wants_html(request):
        return RedirectResponse(web.urls.badge_page(found_id), status_code=303)
    found = await _credential(web, found_id)
    return _document(found["credential"], CREDENTIAL_MEDIA_TYPE)


@router.get("/ob/credentials/{assertion_id}/download")
async def credential_download(assertion_id: uuid.UUID, web: Web) -> Response:
    """The same credential as a file to keep (a wallet imports it)."""
    found = await _credential(web, assertion_id)
    answer = _document(found["credential"], CREDENTIAL_MEDIA_TYPE)
    answer.headers["Content-Disposition"] = f'attachment; filename="badge-{assertion_id}.json"'
    return answer


@router.get("/ob/credentials/{assertion_id}/baked")
async def credential_baked(assertion_id: uuid.UUID, web: Web) -> Response:
    """The badge image with the signed credential baked in (OB 3.0 baking)."""
    found = await _credential(web, assertion_id)
    document = json.loads(found["credential"])
    badge_class_id = uuid.UUID(document["credentialSubject"]["achievement"]["id"].split("/")[-1])
    badge = await load_badge_class(web, badge_class_id)
    image = web.blobs.get(badge.image.sha256) if badge is not None else None
    if badge is None or image is None:
        raise NotFound("the badge image is missing from the blob store")
    if badge.image.media_type == "image/png":
        data, media_type, extension = (
            credential_baking.bake_png(image, found["credential"]),
            "image/png",
            "png",
        )
    else:
        data = credential_baking.bake_svg(image, found["credential"])
        media_type, extension = "image/svg+xml", "svg"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="badge-{assertion_id}-ob3.{extension}"',
            **SAFE_IMAGE_HEADERS,
        },
    )


class KeyOut(BaseModel):
    generation: int
    verification_method: str
    public_key_multibase: str
    created_at: datetime
    compromised_since: datetime | None
    signing: bool = Field(description="The key that signs new credentials.")


class CompromisedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: Annotated[
        AwareDatetime,
        Field(description="From when others may hold the key (ISO 8601 with a zone)."),
    ]


async def _keys_of(web: Any, organisation_id: uuid.UUID) -> list[KeyOut]:
    signer = signer_of(web)
    async with web.runtime.pool.acquire() as conn:
        keys = await credential_store.issuer_keys(conn, organisation_id)
    newest = max((key.generation for key in keys), default=0)
    return [
        KeyOut(
            generation=key.generation,
            verification_method=signer.urls.verification_method(key.issuer_id, key.generation),
            public_key_multibase=key.public_key_multibase,
            created_at=key.created_at,
            compromised_since=key.compromised_since,
            signing=key.generation == newest,
        )
        for key in keys
    ]


@router.get("/v1/issuer/keys", tags=["issuer keys"])
async def list_keys(organiser: CurrentOrganiser, web: Web) -> dict[str, Any]:
    """Your organisation's signing keys (public halves only: the private keys are derived
    from the operator's secret and never leave the service)."""
    signer = signer_of(web)
    return {
        "did": signer.urls.did(organiser.organisation_id),
        "keys": await _keys_of(web, organiser.organisation_id),
    }


@router.post("/v1/issuer/keys/rotate", tags=["issuer keys"])
async def rotate(organiser: CurrentOrganiser, web: Web) -> dict[str, Any]:
    """A new key signs from now on; credentials signed by older keys keep verifying."""
    signer = signer_of(web)
    await credential_service.rotate_key(
        web.runtime, signer, organiser.organisation_id, organiser.actor
    )
    return {"keys": await _keys_of(web, organiser.organisation_id)}


@router.post("/v1/issuer/keys/{generation}/compromised", tags=["issuer keys"])
async def compromised(
    generation: int, body: CompromisedIn, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """Credentials the key signed from `since` on stop verifying (its DID document entry
    gets `revoked`); the signing key is rotated first if it is this one."""
    signer = signer_of(web)
    await credential_service.mark_compromised(
        web.runtime, signer, organiser.organisation_id, generation, body.since, organiser.actor
    )
    return {
        "compromised": generation,
        "since": moment(body.since),
        "keys": await _keys_of(web, organiser.organisation_id),
    }


async def credential_links(web: Any, assertion_id: uuid.UUID, *, revoked: bool) -> dict[str, Any]:
    """What the badge page links of the award's Open Badges 3.0 credential (nothing while it
    is not signed yet, or once revoked)."""
    signer: CredentialSigner | None = web.credentials
    if signer is None or revoked:
        return {"credential_download_url": None}
    async with web.runtime.pool.acquire() as conn:
        found = await credential_store.credential(conn, assertion_id)
    if found is None:
        return {"credential_download_url": None}
    url = signer.urls.credential(assertion_id)
    return {
        "credential_url": url,
        "credential_download_url": f"{url}/download",
        "credential_baked_url": f"{url}/baked",
    }
