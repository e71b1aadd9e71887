"""The signer the Open Badges 3.0 and signed 2.0 routes share (set by the composition root)."""

from __future__ import annotations

from services.badge.adapters.credential_signing import CredentialSigner
from services.badge.entrypoints.dependencies import BadgeWeb
from services.kernel.errors import ServiceUnavailable


def signer_of(web: BadgeWeb) -> CredentialSigner:
    if web.credentials is None:
        raise ServiceUnavailable("credential signing is not configured on this service")
    return web.credentials
