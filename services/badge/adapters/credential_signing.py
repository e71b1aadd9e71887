"""Signs the issuer's Open Badges 3.0 documents with its current key, and checks them with
the keys its DID document publishes: the one code path the service and its tests use."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from services.badge.adapters import data_integrity
from services.badge.adapters.issuer_keys import IssuerKeys
from services.badge.domain.credentials import CredentialUrls, IssuerKey


def credential_text(document: dict[str, Any]) -> str:
    """The JSON text served (and kept in the event), the same bytes for the same document."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


class CredentialSigner:
    def __init__(self, urls: CredentialUrls, keys: IssuerKeys) -> None:
        self.urls = urls
        self.keys = keys

    def new_public_key(self, issuer_id: uuid.UUID, generation: int) -> tuple[str, str]:
        """The public key (Multikey) of a new key of the issuer, and its secret's fingerprint."""
        secret_id = self.keys.current_secret_id
        private = self.keys.private_key(issuer_id, generation, secret_id)
        return data_integrity.public_key_multibase(private.public_key()), secret_id

    def sign(self, document: dict[str, Any], key: IssuerKey, created: datetime) -> str:
        """Refuses (`UnsafeDocument`) a document with a term its contexts do not define."""
        private = self.keys.private_key(key.issuer_id, key.generation, key.secret_id)
        if data_integrity.public_key_multibase(private.public_key()) != key.public_key_multibase:
            raise RuntimeError(
                f"BADGE_ISSUER_KEY_SECRETS does not derive issuer {key.issuer_id}'s key "
                f"{key.generation} as published: restore the secret it was made with"
            )
        method = self.urls.verification_method(key.issuer_id, key.generation)
        return credential_text(data_integrity.sign(document, private, method, created))


def methods_of(did_document: dict[str, Any]) -> data_integrity.ResolveMethod:
    """Resolves verification methods as a verifier reads them from a DID document: only the
    document's assertion methods, with their `revoked` time."""
    allowed = set(did_document.get("assertionMethod", []))
    found: dict[str, data_integrity.VerificationMethod] = {}
    for method in did_document.get("verificationMethod", []):
        if method.get("type") != "Multikey" or method.get("id") not in allowed:
            continue
        revoked = method.get("revoked")
        found[method["id"]] = data_integrity.VerificationMethod(
            id=method["id"],
            controller=method["controller"],
            public_key=data_integrity.public_key_from_multibase(method["publicKeyMultibase"]),
            revoked=datetime.fromisoformat(revoked.replace("Z", "+00:00")) if revoked else None,
        )
    return found.get
