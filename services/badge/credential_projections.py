"""Projections of the Open Badges 3.0 events: issuers' public keys and signed credentials."""

from __future__ import annotations

from contracts import Envelope
from contracts.badge import (
    BadgeClassEndorsed,
    CredentialIssued,
    IssuerKeyCompromised,
    IssuerKeyCreated,
    SignedAssertionsEnabled,
)
from services.kernel.unit_of_work import UnitOfWork


async def issuer_key_created(uow: UnitOfWork, envelope: Envelope[IssuerKeyCreated]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO issuer_keys (issuer_id, generation, public_key_multibase, secret_id, "
        "created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.issuer_id,
        event.generation,
        event.public_key_multibase,
        event.secret_id,
        envelope.occurred_at,
    )


async def issuer_key_compromised(uow: UnitOfWork, envelope: Envelope[IssuerKeyCompromised]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "UPDATE issuer_keys SET compromised_since = $3 WHERE issuer_id = $1 AND generation = $2",
        event.issuer_id,
        event.generation,
        event.compromised_since,
    )


async def signed_assertions_enabled(
    uow: UnitOfWork, envelope: Envelope[SignedAssertionsEnabled]
) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO issuer_rsa_keys (issuer_id, public_key_pem, wrapped_private_key, "
        "secret_id, enabled_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.issuer_id,
        event.public_key_pem,
        event.wrapped_private_key,
        event.secret_id,
        envelope.occurred_at,
    )


async def badge_class_endorsed(uow: UnitOfWork, envelope: Envelope[BadgeClassEndorsed]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO endorsements (endorsement_id, endorser_id, badge_class_id, comment, "
        "credential, endorsed_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        event.endorsement_id,
        event.endorser_id,
        event.badge_class_id,
        event.comment,
        event.credential,
        envelope.occurred_at,
    )


async def credential_issued(uow: UnitOfWork, envelope: Envelope[CredentialIssued]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO credentials (assertion_id, badge_class_id, issuer_id, key_generation, "
        "status_list_index, credential) VALUES ($1, $2, $3, $4, $5, $6) "
        # Signed again (its key was compromised): the new signature replaces the old.
        "ON CONFLICT (assertion_id) DO UPDATE SET key_generation = EXCLUDED.key_generation, "
        "credential = EXCLUDED.credential",
        event.assertion_id,
        event.badge_class_id,
        event.issuer_id,
        event.key_generation,
        event.status_list_index,
        event.credential,
    )
