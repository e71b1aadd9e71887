"""The issuer's Open Badges 3.0 commands and documents: rotating its signing key, marking a
key compromised, and its signed Bitstring Status List (signed when asked, from the state alone,
so the same state always answers the same bytes)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from contracts import new_envelope
from contracts.badge import (
    CredentialIssued,
    IssuerCredentialEvent,
    IssuerKeyCompromised,
    IssuerKeyCreated,
)
from services.badge.adapters import credential_store
from services.badge.adapters.credential_signing import CredentialSigner
from services.badge.domain.credentials import (
    IssuerKey,
    check_compromise,
    current_key,
    next_generation,
    signed_before,
    status_list_credential,
    status_list_valid_from,
)
from services.kernel.runtime import ServiceRuntime
from services.kernel.store import Connection
from services.kernel.unit_of_work import UnitOfWork


async def _append(
    uow: UnitOfWork,
    events: list[IssuerCredentialEvent],
    issuer_id: uuid.UUID,
    after: int,
    actor: str,
) -> None:
    for offset, event in enumerate(events, start=1):
        await uow.emit(
            new_envelope(event, stream_id=issuer_id, stream_version=after + offset, actor=actor)
        )


def _rotation(
    signer: CredentialSigner, issuer_id: uuid.UUID, keys: list[IssuerKey]
) -> IssuerKeyCreated:
    generation = next_generation(keys)
    public_key, secret_id = signer.new_public_key(issuer_id, generation)
    return IssuerKeyCreated(
        issuer_id=issuer_id,
        generation=generation,
        public_key_multibase=public_key,
        secret_id=secret_id,
    )


async def rotate_key(
    runtime: ServiceRuntime, signer: CredentialSigner, issuer_id: uuid.UUID, actor: str
) -> int:
    """A new key signs from now on; the old ones stay published. Returns its generation."""

    async def work(uow: UnitOfWork) -> int:
        version = await uow.lock_stream(issuer_id)
        keys = await credential_store.issuer_keys(uow.conn, issuer_id)
        rotated = _rotation(signer, issuer_id, keys)
        await _append(uow, [rotated], issuer_id, version, actor)
        return next_generation(keys)

    return await runtime.execute(work)


async def mark_compromised(
    runtime: ServiceRuntime,
    signer: CredentialSigner,
    issuer_id: uuid.UUID,
    generation: int,
    since: datetime,
    actor: str,
) -> int:
    """The key stops being an assertion method of the issuer: nothing it signs verifies any
    more. What the platform signed with it before `since` (its log says what) is signed again
    by the current key, rotated first if it is this one; what it signed from `since` on stays
    refused. Returns the generation that signs from now on."""

    async def work(uow: UnitOfWork) -> int:
        version = await uow.lock_stream(issuer_id)
        keys = await credential_store.issuer_keys(uow.conn, issuer_id)
        found = check_compromise(keys, generation, since)
        now = datetime.now(UTC)
        signing = current_key(keys)
        events: list[IssuerCredentialEvent] = []
        if found.generation == signing.generation:
            rotation = _rotation(signer, issuer_id, keys)
            events.append(rotation)
            signing = IssuerKey(
                issuer_id=issuer_id,
                generation=rotation.generation,
                public_key_multibase=rotation.public_key_multibase,
                secret_id=rotation.secret_id,
                created_at=now,
            )
        events.append(
            IssuerKeyCompromised(
                issuer_id=issuer_id, generation=generation, compromised_since=since
            )
        )
        for held in await credential_store.signed_by(uow.conn, issuer_id, generation):
            if not signed_before(held["credential"], since):
                continue
            document = json.loads(held["credential"])
            del document["proof"]
            events.append(
                CredentialIssued(
                    assertion_id=held["assertion_id"],
                    badge_class_id=held["badge_class_id"],
                    issuer_id=issuer_id,
                    key_generation=signing.generation,
                    status_list_index=held["status_list_index"],
                    credential=signer.sign(document, signing, now),
                )
            )
        await _append(uow, events, issuer_id, version, actor)
        return signing.generation

    return await runtime.execute(work)


async def signed_status_list(
    conn: Connection, signer: CredentialSigner, issuer_id: uuid.UUID
) -> str | None:
    """The issuer's revocation status list, signed by its current key; None without a key."""
    keys = await credential_store.issuer_keys(conn, issuer_id)
    if not keys:
        return None
    revoked, changes = await credential_store.revoked_entries(conn, issuer_id)
    valid_from = status_list_valid_from(keys, changes)
    document = status_list_credential(signer.urls, issuer_id, revoked, valid_from)
    return signer.sign(document, current_key(keys), valid_from)
