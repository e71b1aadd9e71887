"""The badge service's projections: what each event says, written into its read models.

No decisions here (those are in `policies`). Badge classes are saved as the domain's `evolve`
makes them; the other rows follow their events one to one.
"""

from __future__ import annotations

import json

from contracts import Envelope
from contracts.activity import OrganisationCreated
from contracts.badge import (
    AssertionRevoked,
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeIssuingClosed,
    BadgeOffered,
    BulkIssueFinished,
    BulkIssueRequested,
    ClaimRejected,
    ClaimRequested,
    HeldBadgeRequested,
    OfferResendRequested,
    OpenLinkRegenerated,
    PeerReviewerInvited,
)
from contracts.evidence import RecipientDisplayChanged
from contracts.notifier import EmailDeferred, EmailFailed, EmailSent
from services.badge.adapters import read_models
from services.badge.domain.model import Badge, evolve
from services.kernel.unit_of_work import UnitOfWork


async def issuer_known(uow: UnitOfWork, envelope: Envelope[OrganisationCreated]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO issuers (issuer_id, name, url, email, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.organisation_id,
        event.name,
        event.url,
        event.email,
        envelope.occurred_at,
    )


async def badge_class_created(uow: UnitOfWork, envelope: Envelope[BadgeClassCreated]) -> None:
    # Creation starts the stream: there is nothing to read before it.
    read_models.save_badge_class(uow.conn, evolve(None, envelope).badge_class)


async def badge_class_changed(
    uow: UnitOfWork,
    envelope: Envelope[BadgeClassEdited]
    | Envelope[OpenLinkRegenerated]
    | Envelope[BadgeIssuingClosed],
) -> None:
    found = await read_models.get_badge_class(uow.conn, envelope.payload.badge_class_id)
    state = Badge(badge_class=found) if found is not None else None
    read_models.save_badge_class(uow.conn, evolve(state, envelope).badge_class)


async def badge_class_edited(uow: UnitOfWork, envelope: Envelope[BadgeClassEdited]) -> None:
    await badge_class_changed(uow, envelope)


async def open_link_regenerated(uow: UnitOfWork, envelope: Envelope[OpenLinkRegenerated]) -> None:
    await badge_class_changed(uow, envelope)


async def badge_issuing_closed(uow: UnitOfWork, envelope: Envelope[BadgeIssuingClosed]) -> None:
    await badge_class_changed(uow, envelope)


async def badge_offered(uow: UnitOfWork, envelope: Envelope[BadgeOffered]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO offers (offer_id, badge_class_id, recipient_email, via, expires_at, "
        "created_at, open_link_generation, issue_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT DO NOTHING",
        event.offer_id,
        event.badge_class_id,
        event.recipient_email,
        event.via,
        event.expires_at,
        envelope.occurred_at,
        event.open_link_generation,
        # A bulk issue correlates its offers (see `service_layer.issue_id_of`).
        envelope.correlation_id if event.via == "email" else None,
    )


async def bulk_issue_requested(uow: UnitOfWork, envelope: Envelope[BulkIssueRequested]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO bulk_issues (issue_id, badge_class_id, organisation_id, organiser_id, "
        "idempotency_key, file_sha256, rows, rejected, rejected_count, requested_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10) ON CONFLICT DO NOTHING",
        event.issue_id,
        event.badge_class_id,
        event.organisation_id,
        event.organiser_id,
        event.idempotency_key,
        event.file.sha256,
        event.rows,
        json.dumps([row.model_dump(mode="json") for row in event.rejected]),
        event.rejected_count,
        envelope.occurred_at,
    )


async def bulk_issue_finished(uow: UnitOfWork, envelope: Envelope[BulkIssueFinished]) -> None:
    # Its request is committed before anyone works it, so the row is there to update.
    uow.conn.defer(
        "UPDATE bulk_issues SET finished = true, error = $2 WHERE issue_id = $1",
        envelope.payload.issue_id,
        envelope.payload.error,
    )


async def held_badge_requested(uow: UnitOfWork, envelope: Envelope[HeldBadgeRequested]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO holder_notices (badge_class_id, open_link_generation, recipient_email) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.open_link_generation,
        event.recipient_email,
    )


async def claim_requested(uow: UnitOfWork, request: Envelope[ClaimRequested]) -> None:
    claim = request.payload
    uow.conn.defer(
        "INSERT INTO claim_requests (request_id, offer_id, badge_class_id, requested_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        claim.request_id,
        claim.offer_id,
        claim.badge_class_id,
        request.occurred_at,
    )


async def badge_awarded(uow: UnitOfWork, envelope: Envelope[BadgeAwarded]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO assertions (assertion_id, badge_class_id, issuer_id, offer_id, reason, "
        "recipient_email, recipient_salt, issued_on, expires, evidence) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) ON CONFLICT DO NOTHING",
        event.assertion_id,
        event.badge_class_id,
        event.issuer_id,
        event.offer_id,
        event.reason,
        event.recipient_email,
        event.recipient_salt,
        event.issued_on,
        event.expires,
        json.dumps([item.model_dump() for item in event.evidence]),
    )
    if event.offer_id is not None:
        uow.conn.defer(
            "UPDATE offers SET assertion_id = $2 WHERE offer_id = $1",
            event.offer_id,
            event.assertion_id,
        )
        # The open link's count (what `max_claims` limits), as `evolve` counts it.
        uow.conn.defer(
            "UPDATE badge_classes SET open_link_claims = open_link_claims + 1 "
            "WHERE badge_class_id = $1 AND "
            "(SELECT via FROM offers WHERE offer_id = $2) = 'open_link'",
            event.badge_class_id,
            event.offer_id,
        )
    if event.request_id is not None:
        uow.conn.defer(
            "UPDATE claim_requests SET outcome = 'awarded', assertion_id = $2 "
            "WHERE request_id = $1",
            event.request_id,
            event.assertion_id,
        )


async def peer_reviewer_invited(uow: UnitOfWork, envelope: Envelope[PeerReviewerInvited]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO peer_reviewers (badge_class_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.email,
    )


async def claim_rejected(uow: UnitOfWork, envelope: Envelope[ClaimRejected]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "UPDATE claim_requests SET outcome = 'rejected', reason = $2 WHERE request_id = $1",
        event.request_id,
        event.reason,
    )


async def recipient_display_changed(
    uow: UnitOfWork, envelope: Envelope[RecipientDisplayChanged]
) -> None:
    """The holder's choice (made on their home) of what the badge page says of them."""
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO recipient_names (assertion_id, display_name) VALUES ($1, $2) "
        "ON CONFLICT (assertion_id) DO UPDATE SET display_name = EXCLUDED.display_name",
        event.assertion_id,
        event.display_name,
    )


async def assertion_revoked(uow: UnitOfWork, envelope: Envelope[AssertionRevoked]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "UPDATE assertions SET revoked = true, revocation_reason = $2, revoked_at = $3 "
        "WHERE assertion_id = $1",
        event.assertion_id,
        event.reason,
        envelope.occurred_at,
    )


def _email_outcome(uow: UnitOfWork, event: EmailSent | EmailFailed) -> None:
    """The notifier's word on an offer's email, shown to the organiser beside the offer."""
    if event.kind != "offer" or event.offer_id is None:
        return
    sent = isinstance(event, EmailSent)
    # Its own row, not an update of the offer's: the offer may not be committed yet.
    uow.conn.defer(
        "INSERT INTO offer_emails (offer_id, status, detail, attempts) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (offer_id) DO UPDATE SET status = EXCLUDED.status, "
        "detail = EXCLUDED.detail, attempts = EXCLUDED.attempts",
        event.offer_id,
        "sent" if sent else "failed",
        "" if isinstance(event, EmailSent) else event.reason,
        event.attempts,
    )


async def email_sent(uow: UnitOfWork, envelope: Envelope[EmailSent]) -> None:
    _email_outcome(uow, envelope.payload)


async def email_failed(uow: UnitOfWork, envelope: Envelope[EmailFailed]) -> None:
    _email_outcome(uow, envelope.payload)


async def offer_resend_requested(uow: UnitOfWork, envelope: Envelope[OfferResendRequested]) -> None:
    uow.conn.defer(
        "INSERT INTO offer_emails (offer_id, status, detail, attempts) "
        "VALUES ($1, 'resending', '', 0) "
        "ON CONFLICT (offer_id) DO UPDATE SET status = 'resending', detail = ''",
        envelope.payload.offer_id,
    )


async def email_deferred(uow: UnitOfWork, envelope: Envelope[EmailDeferred]) -> None:
    """An offer's email waits for another attempt: the organiser sees why, and how often."""
    event = envelope.payload
    if event.kind != "offer" or event.offer_id is None:
        return
    uow.conn.defer(
        # No row yet is `pending`; a final outcome (sent, failed) is never taken back.
        "INSERT INTO offer_emails (offer_id, status, detail, attempts) "
        "VALUES ($1, 'retrying', $2, $3) "
        "ON CONFLICT (offer_id) DO UPDATE SET status = 'retrying', "
        "detail = EXCLUDED.detail, attempts = EXCLUDED.attempts "
        "WHERE offer_emails.status IN ('retrying', 'resending')",
        event.offer_id,
        event.reason,
        event.attempt,
    )
