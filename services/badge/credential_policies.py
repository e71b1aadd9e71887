"""Open Badges 3.0 policies: an organisation gets its signing key when it is created, and
every award its signed credential, in the unit of work that awards it.

Both are decided again identically on a redelivery or replay: the key is derived from the
operator's secret, the credential's status index from a keyed hash of the award, its proof's
time is the award's, and Ed25519 signatures are deterministic. A decision already further
down the log is not made again (nor signed: a rebuild needs no secret).
"""

from __future__ import annotations

import uuid
from typing import Any

from contracts import Envelope, derived_envelope
from contracts.activity import OrganisationCreated
from contracts.badge import BadgeAwarded, CredentialIssued, IssuerCredentialEvent
from services.badge.adapters import credential_store, read_models
from services.badge.adapters.credential_signing import CredentialSigner
from services.badge.domain.credentials import (
    IssuerKey,
    credential_event_id,
    current_key,
    decide_first_key,
    issuer_key_event_id,
    open_badge_credential,
    status_index_candidates,
)
from services.kernel.unit_of_work import UnitOfWork

ACTOR = "service:badge"


class CredentialPolicies:
    def __init__(self, signer: CredentialSigner) -> None:
        self._signer = signer

    async def organisation_created(
        self, uow: UnitOfWork, cause: Envelope[OrganisationCreated]
    ) -> None:
        await self._keys(uow, cause, cause.payload.organisation_id)

    async def _keys(
        self, uow: UnitOfWork, cause: Envelope[Any], issuer_id: uuid.UUID
    ) -> list[IssuerKey]:
        """The issuer's keys, its first made now if it has none (an organisation from before
        issuer keys gets it with its first credential), under the issuer's lock."""
        version = await uow.lock_stream(issuer_id)
        keys = await credential_store.issuer_keys(uow.conn, issuer_id)
        first_id = issuer_key_event_id(issuer_id, 1)
        if keys or uow.appears_later(first_id):
            return keys
        public_key, secret_id = self._signer.new_public_key(issuer_id, 1)
        for event in decide_first_key(keys, issuer_id, public_key, secret_id):
            await _emit(uow, event, cause, first_id, issuer_id, version)
        return await credential_store.issuer_keys(uow.conn, issuer_id)

    async def badge_awarded(self, uow: UnitOfWork, cause: Envelope[BadgeAwarded]) -> None:
        award = cause.payload
        event_id = credential_event_id(award.assertion_id)
        if uow.appears_later(event_id) or await uow.is_applied(event_id):
            return
        badge = await read_models.get_badge_class(uow.conn, award.badge_class_id)
        issuer = await credential_store.issuer(uow.conn, award.issuer_id)
        if badge is None or issuer is None:
            raise ValueError(f"award {award.assertion_id} names an unknown badge or issuer")
        key = current_key(await self._keys(uow, cause, award.issuer_id))
        index_key = self._signer.keys.status_index_key(award.issuer_id)
        for index in status_index_candidates(index_key, award.assertion_id):
            if not await credential_store.index_taken(uow.conn, award.issuer_id, index):
                break
        document = open_badge_credential(
            self._signer.urls,
            assertion_id=award.assertion_id,
            issuer=issuer,
            badge=badge,
            recipient_email=award.recipient_email,
            recipient_salt=award.recipient_salt,
            issued_on=award.issued_on,
            expires=award.expires,
            evidence=award.evidence,
            status_index=index,
        )
        issued = CredentialIssued(
            assertion_id=award.assertion_id,
            badge_class_id=award.badge_class_id,
            issuer_id=award.issuer_id,
            key_generation=key.generation,
            status_list_index=index,
            credential=self._signer.sign(document, key, award.issued_on),
        )
        version = await uow.lock_stream(award.issuer_id)
        await _emit(uow, issued, cause, event_id, award.issuer_id, version)


async def _emit(
    uow: UnitOfWork,
    event: IssuerCredentialEvent,
    cause: Envelope[Any],
    event_id: uuid.UUID,
    stream_id: uuid.UUID,
    version: int,
) -> None:
    await uow.emit(
        derived_envelope(
            event,
            cause,
            event_id=event_id,
            stream_id=stream_id,
            stream_version=version + 1,
            actor=ACTOR,
        )
    )
