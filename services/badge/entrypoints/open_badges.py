"""Open Badges 2.0 documents as JSON-LD: what verifiers fetch when they check a badge."""

from __future__ import annotations

from typing import Any

from services.badge.domain.model import BadgeClass

CONTEXT = "https://w3id.org/openbadges/v2"
MEDIA_TYPE = "application/ld+json"


class OpenBadgesUrls:
    """Every hosted id is an address under the badge service's public URL."""

    def __init__(self, public_url: str) -> None:
        self.base = public_url.rstrip("/")

    def issuer(self, issuer_id: object) -> str:
        return f"{self.base}/ob/issuers/{issuer_id}"

    def badge_class(self, badge_class_id: object) -> str:
        return f"{self.base}/ob/badge-classes/{badge_class_id}"

    def badge_image(self, badge_class_id: object) -> str:
        return f"{self.badge_class(badge_class_id)}/image"


def issuer_profile(urls: OpenBadgesUrls, issuer: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": urls.issuer(issuer["issuer_id"]),
        "name": issuer["name"],
        "url": issuer["url"],
        "email": issuer["email"],
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
