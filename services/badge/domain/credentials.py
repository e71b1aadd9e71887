"""Open Badges 3.0 as W3C Verifiable Credentials: the issuer's did:web identity and DID
document, its Profile, the OpenBadgeCredential of an award and the issuer's Bitstring Status
List, all as plain JSON-LD built from the badge's state (signing is the adapters' part).

Pure: the same state always gives the same documents, key for key, so a rebuild from the log
serves the same bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from contracts.badge import STATUS_LIST_SIZE, EvidenceItem, IssuerKeyCreated
from services.badge.domain.model import BadgeClass, recipient_identity
from services.kernel.errors import Conflict, Invalid, NotFound

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
CREDENTIAL_MEDIA_TYPE = "application/vc+ld+json"


def moment(value: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class IssuerKey:
    issuer_id: uuid.UUID
    generation: int
    public_key_multibase: str
    secret_id: str
    created_at: datetime
    compromised_since: datetime | None = None


@dataclass(frozen=True)
class Issuer:
    issuer_id: uuid.UUID
    name: str
    url: str
    email: str


class CredentialUrls:
    """The addresses of the OB 3.0 documents under the badge service's public URL, and the
    did:web names that resolve to them (did:web: host, port escaped, path by colons)."""

    def __init__(self, public_url: str) -> None:
        self.base = public_url.rstrip("/")
        parts = urlsplit(self.base)
        host = quote(parts.netloc, safe="")
        path = [segment for segment in parts.path.split("/") if segment]
        self._did_prefix = ":".join(["did:web", host, *path])

    def did(self, issuer_id: object) -> str:
        return f"{self._did_prefix}:ob:issuers:{issuer_id}"

    def did_document(self, issuer_id: object) -> str:
        """Where did:web resolution looks for the DID's document."""
        return f"{self.base}/ob/issuers/{issuer_id}/did.json"

    def verification_method(self, issuer_id: object, generation: int) -> str:
        return f"{self.did(issuer_id)}#key-{generation}"

    def profile(self, issuer_id: object) -> str:
        return f"{self.base}/ob/issuers/{issuer_id}/profile"

    def credential(self, assertion_id: object) -> str:
        return f"{self.base}/ob/credentials/{assertion_id}"

    def endorsement(self, endorsement_id: object) -> str:
        return f"{self.base}/ob/endorsements/{endorsement_id}"

    def endorsement_credential(self, endorsement_id: object) -> str:
        return f"{self.endorsement(endorsement_id)}/credential"

    def status_list(self, issuer_id: object) -> str:
        return f"{self.base}/ob/issuers/{issuer_id}/status-list"

    def achievement(self, badge_class_id: object) -> str:
        return f"{self.base}/ob/badge-classes/{badge_class_id}"

    def image(self, badge_class_id: object) -> str:
        return f"{self.achievement(badge_class_id)}/image"


def did_document(
    urls: CredentialUrls, issuer_id: uuid.UUID, keys: list[IssuerKey]
) -> dict[str, Any]:
    """Every key the issuer ever had, as Multikey verification methods; all but compromised
    ones are assertion methods, so rotated keys keep verifying what they signed. A compromised
    key stays listed with `revoked` (its compromise time) but is no assertion method: no
    verifier accepts a proof by it any more, whatever date the proof claims (a thief can
    write any `created`). What it signed before the compromise is signed again by the current
    key (see credential_service.mark_compromised)."""
    did = urls.did(issuer_id)
    methods = []
    for key in sorted(keys, key=lambda k: k.generation):
        method: dict[str, Any] = {
            "id": urls.verification_method(issuer_id, key.generation),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_key_multibase,
        }
        if key.compromised_since is not None:
            method["revoked"] = moment(key.compromised_since)
        methods.append(method)
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods if "revoked" not in method],
    }


def profile(urls: CredentialUrls, issuer: Issuer) -> dict[str, Any]:
    """The issuer as an OB 3.0 Profile (as credentials embed it, with the contexts)."""
    return {
        "id": urls.did(issuer.issuer_id),
        "type": ["Profile"],
        "name": issuer.name,
        "url": issuer.url,
        "email": issuer.email,
    }


def profile_document(urls: CredentialUrls, issuer: Issuer) -> dict[str, Any]:
    return {"@context": [VC_V2, OB_V3], **profile(urls, issuer)}


def achievement_type(badge: BadgeClass) -> str:
    # A playlist's badge recognises a set of activities completed together.
    return "LearningProgram" if badge.source_kind == "playlist" else "Badge"


def open_badge_credential(
    urls: CredentialUrls,
    *,
    assertion_id: uuid.UUID,
    issuer: Issuer,
    badge: BadgeClass,
    recipient_email: str,
    recipient_salt: str,
    issued_on: datetime,
    expires: datetime | None,
    evidence: Iterable[EvidenceItem],
    status_index: int,
) -> dict[str, Any]:
    """The award as an OpenBadgeCredential (unsigned). The recipient is a salted SHA-256 of
    the normalised email, as in the 2.0 Assertion."""
    status_list = urls.status_list(issuer.issuer_id)
    achievement: dict[str, Any] = {
        "id": urls.achievement(badge.badge_class_id),
        "type": ["Achievement"],
        "achievementType": achievement_type(badge),
        "name": badge.name,
        "description": badge.description or badge.name,
        "criteria": {"narrative": badge.criteria_narrative or badge.name},
        "image": {"id": urls.image(badge.badge_class_id), "type": "Image"},
        "creator": profile(urls, issuer),
    }
    credential: dict[str, Any] = {
        "@context": [VC_V2, OB_V3],
        "id": urls.credential(assertion_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": badge.name,
        "issuer": profile(urls, issuer),
        "validFrom": moment(issued_on),
    }
    if expires is not None:
        credential["validUntil"] = moment(expires)
    credential["credentialSubject"] = {
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": recipient_identity(recipient_email, recipient_salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": recipient_salt,
            }
        ],
        "achievement": achievement,
    }
    items = [
        {"id": item.url, "type": ["Evidence"], "narrative": item.narrative} for item in evidence
    ]
    if items:
        credential["evidence"] = items
    credential["credentialStatus"] = {
        "id": f"{status_list}#{status_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(status_index),
        "statusListCredential": status_list,
    }
    return credential


def endorsement_credential(
    urls: CredentialUrls,
    *,
    endorsement_id: uuid.UUID,
    endorser: Issuer,
    badge: BadgeClass,
    comment: str,
    endorsed_at: datetime,
) -> dict[str, Any]:
    """An organisation's endorsement of another's badge as an OB 3.0 EndorsementCredential
    (unsigned)."""
    return {
        "@context": [VC_V2, OB_V3],
        "id": urls.endorsement_credential(endorsement_id),
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": f"{endorser.name} endorses {badge.name}",
        "issuer": profile(urls, endorser),
        "validFrom": moment(endorsed_at),
        "credentialSubject": {
            "id": urls.achievement(badge.badge_class_id),
            "type": ["EndorsementSubject"],
            "endorsementComment": comment,
        },
    }


def check_endorsement(badge: BadgeClass | None, endorser_id: uuid.UUID) -> BadgeClass:
    if badge is None:
        raise NotFound("badge not found")
    if badge.issuer_id == endorser_id:
        raise Conflict("an organisation endorses other organisations' badges, not its own")
    return badge


def encoded_list(revoked: Iterable[int], size: int = STATUS_LIST_SIZE) -> str:
    """The bitstring (index 0 the first byte's highest bit), GZIP-compressed (no time in its
    header, so the same bits always give the same text), multibase base64url."""
    bits = bytearray(size // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def decode_list(value: str) -> bytes:
    if not value.startswith("u"):
        raise ValueError("an encodedList is multibase base64url (starts with u)")
    text = value[1:]
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def bit_is_set(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    urls: CredentialUrls, issuer_id: uuid.UUID, revoked: Iterable[int], valid_from: datetime
) -> dict[str, Any]:
    """The issuer's revocation list as a BitstringStatusListCredential (unsigned)."""
    url = urls.status_list(issuer_id)
    return {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": urls.did(issuer_id),
        "validFrom": moment(valid_from),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list(revoked),
        },
    }


# Decisions.


def issuer_key_event_id(issuer_id: uuid.UUID, generation: int) -> uuid.UUID:
    """The first key's event follows from the issuer alone, whatever made it (the
    organisation's creation, or a first credential of an organisation from before keys)."""
    return uuid.uuid5(issuer_id, f"issuer-key-{generation}")


def credential_event_id(assertion_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(assertion_id, "open-badge-credential")


def decide_first_key(
    keys: list[IssuerKey], issuer_id: uuid.UUID, public_key_multibase: str, secret_id: str
) -> list[IssuerKeyCreated]:
    """An organisation's first key, once: a later decision finds it made."""
    if keys:
        return []
    return [
        IssuerKeyCreated(
            issuer_id=issuer_id,
            generation=1,
            public_key_multibase=public_key_multibase,
            secret_id=secret_id,
        )
    ]


def next_generation(keys: list[IssuerKey]) -> int:
    return max((key.generation for key in keys), default=0) + 1


def current_key(keys: list[IssuerKey]) -> IssuerKey:
    """The newest key signs; none (an issuer from before keys) is for the caller to make."""
    if not keys:
        raise NotFound("the issuer has no signing key yet")
    return max(keys, key=lambda k: k.generation)


def check_compromise(keys: list[IssuerKey], generation: int, since: datetime) -> IssuerKey:
    """The key to mark compromised from `since`; when it is the current one, the caller
    rotates first, so that a key nobody else holds signs from now on."""
    found = next((key for key in keys if key.generation == generation), None)
    if found is None:
        raise NotFound(f"the issuer has no key {generation}")
    if found.compromised_since is not None:
        raise Conflict(f"key {generation} is already marked compromised")
    if since.tzinfo is None:
        raise Invalid("the compromise time needs a zone, e.g. 2026-12-01T09:00:00Z")
    return found


def signed_before(credential_text: str, since: datetime) -> bool:
    """Whether a credential the platform signed (its own record) was signed before `since`."""
    created = json.loads(credential_text)["proof"]["created"]
    return datetime.fromisoformat(created.replace("Z", "+00:00")) < since


def status_index_candidates(index_key: bytes, assertion_id: uuid.UUID) -> Iterable[int]:
    """Indexes for the award's status entry, drawn from a keyed hash of its id: spread at
    random over the whole list to anyone without the key, the same on every decision."""
    for attempt in range(64):
        digest = hmac.new(index_key, f"{assertion_id}:{attempt}".encode(), hashlib.sha256)
        yield int.from_bytes(digest.digest()[:8], "big") % STATUS_LIST_SIZE
    raise Conflict("the issuer's status list has no free entry left")


def status_list_valid_from(keys: list[IssuerKey], changes: Iterable[datetime]) -> datetime:
    """The list speaks from its last change (a revocation, or the key that signs it)."""
    return max([current_key(keys).created_at, *changes])
