"""Open Badges 2.0 documents as JSON-LD: what verifiers fetch when they check a badge."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.badge.domain.model import BadgeClass, recipient_identity

CONTEXT = "https://w3id.org/openbadges/v2"
MEDIA_TYPE = "application/ld+json"


class OpenBadgesUrls:
    """Every hosted id, and every learner-facing page, is an address under the public URL."""

    def __init__(self, public_url: str) -> None:
        self.base = public_url.rstrip("/")

    def issuer(self, issuer_id: object) -> str:
        return f"{self.base}/ob/issuers/{issuer_id}"

    def revocation_list(self, issuer_id: object) -> str:
        return f"{self.issuer(issuer_id)}/revocations"

    def badge_class(self, badge_class_id: object) -> str:
        return f"{self.base}/ob/badge-classes/{badge_class_id}"

    def badge_image(self, badge_class_id: object) -> str:
        return f"{self.badge_class(badge_class_id)}/image"

    def assertion(self, assertion_id: object) -> str:
        return f"{self.base}/ob/assertions/{assertion_id}"

    def baked(self, assertion_id: object) -> str:
        return f"{self.assertion(assertion_id)}/baked"

    def badge_page(self, assertion_id: object) -> str:
        return f"{self.base}/badges/{assertion_id}"

    def claim(self, token: str) -> str:
        return f"{self.base}/claim/{token}"


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def issuer_profile(urls: OpenBadgesUrls, issuer: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": urls.issuer(issuer["issuer_id"]),
        "name": issuer["name"],
        "url": issuer["url"],
        "email": issuer["email"],
        "revocationList": urls.revocation_list(issuer["issuer_id"]),
    }


def badge_class_document(urls: OpenBadgesUrls, badge: BadgeClass) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": urls.badge_class(badge.badge_class_id),
        "name": badge.name,
        "description": badge.description or badge.name,
        "image": urls.badge_image(badge.badge_class_id),
        "criteria": {"narrative": badge.criteria_narrative},
        "issuer": urls.issuer(badge.issuer_id),
    }


def revoked_assertion_document(urls: OpenBadgesUrls, assertion: dict[str, Any]) -> dict[str, Any]:
    """What a revoked Assertion answers (with 410 Gone), as Open Badges 2.0 hosting asks:
    its id and the fact, nothing a verifier could still accept."""
    return {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": urls.assertion(assertion["assertion_id"]),
        "revoked": True,
        "revocationReason": assertion["revocation_reason"],
    }


def assertion_document(urls: OpenBadgesUrls, assertion: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": urls.assertion(assertion["assertion_id"]),
        "recipient": {
            "type": "email",
            "hashed": True,
            "salt": assertion["recipient_salt"],
            "identity": recipient_identity(
                assertion["recipient_email"], assertion["recipient_salt"]
            ),
        },
        "badge": urls.badge_class(assertion["badge_class_id"]),
        "verification": {"type": "hosted"},
        "issuedOn": _time(assertion["issued_on"]),
    }
    if assertion["expires"] is not None:
        document["expires"] = _time(assertion["expires"])
    evidence = json.loads(assertion["evidence"])
    if evidence:
        document["evidence"] = [
            {"type": "Evidence", "id": item["url"], "narrative": item["narrative"]}
            for item in evidence
        ]
    return document


def revocation_list(
    urls: OpenBadgesUrls, issuer_id: object, revoked: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "RevocationList",
        "id": urls.revocation_list(issuer_id),
        "issuer": urls.issuer(issuer_id),
        "revokedAssertions": [
            {"id": urls.assertion(r["assertion_id"]), "revocationReason": r["revocation_reason"]}
            for r in revoked
        ],
    }
