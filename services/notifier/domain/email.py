"""One email, from its first attempt to its last word: its id, its state, and how each of the
notifier's own events (EmailDeferred, EmailSent, EmailFailed, EmailResendRequested) changes it.

The read models (`emails`, `email_retries`, `email_resends`) hold the same state in tables;
`evolve` is the state as the in-memory store keeps it, and the rules read it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from contracts import Envelope, derived_id
from contracts.notifier import (
    EmailDeferred,
    EmailFailed,
    EmailKind,
    EmailResendRequested,
    EmailSent,
)

# What an attempt ends in: one of these is recorded per attempt.
EmailOutcome = EmailSent | EmailFailed | EmailDeferred

NotifierEnvelope = (
    Envelope[EmailSent]
    | Envelope[EmailFailed]
    | Envelope[EmailDeferred]
    | Envelope[EmailResendRequested]
)


def email_id(cause_event_id: uuid.UUID, kind: str, recipient: str) -> uuid.UUID:
    """The id of an email's outcome: one email per cause and recipient (a review request goes
    to several reviewers; an offer or an award to one)."""
    recipient_key = "" if kind in ("offer", "award") else f":{recipient}"
    return derived_id(cause_event_id, "EmailOutcome" + recipient_key)


def deferral_id(email: uuid.UUID, attempt: int) -> uuid.UUID:
    """The id of the EmailDeferred that records failed attempt number `attempt`."""
    return derived_id(email, f"EmailDeferred:{attempt}")


def outcome_id(email: uuid.UUID, outcome: EmailOutcome) -> uuid.UUID:
    """The event id an outcome is recorded under: the email's own for its last word (so it is
    recorded once), one per attempt for a deferral."""
    if isinstance(outcome, EmailDeferred):
        return deferral_id(email, outcome.attempt)
    return email


class Status(StrEnum):
    RETRYING = "retrying"  # in the retry schedule, due at `next_attempt_at`
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class EmailState:
    email_id: uuid.UUID
    kind: EmailKind
    recipient: str
    cause_event_id: uuid.UUID
    offer_id: uuid.UUID | None
    status: Status
    attempts: int
    # The last version of the email's stream: the next record gets the one after.
    version: int
    # What it is composed from (known once it waits in the schedule or is a resend).
    source_event_id: uuid.UUID | None = None
    failing_since: datetime | None = None
    next_attempt_at: datetime | None = None
    # The subject once sent, the reason once failed, the last error while retrying.
    detail: str = ""
    resend_of: uuid.UUID | None = None

    @property
    def recorded(self) -> bool:
        """Its last word is in the log: it is never attempted again."""
        return self.status is not Status.RETRYING


def evolve(state: EmailState | None, envelope: NotifierEnvelope) -> EmailState:
    """The email after one of its events (`state` None: the first event of this email)."""
    event = envelope.payload
    if isinstance(event, EmailSent | EmailFailed):
        if state is not None and state.recorded:
            return state  # its last word is said once
        sent = isinstance(event, EmailSent)
        detail = event.subject if isinstance(event, EmailSent) else event.reason
        recorded = EmailState(
            email_id=envelope.event_id,
            kind=event.kind,
            recipient=event.recipient,
            cause_event_id=event.cause_event_id,
            offer_id=event.offer_id,
            status=Status.SENT if sent else Status.FAILED,
            attempts=event.attempts,
            version=envelope.stream_version,
            detail=detail,
        )
        if state is None:
            return recorded
        return replace(
            recorded,
            source_event_id=state.source_event_id,
            failing_since=state.failing_since,
            resend_of=state.resend_of,
        )
    if isinstance(event, EmailDeferred):
        if state is not None and (state.recorded or state.attempts >= event.attempt):
            # Its outcome came first, or a later attempt is known (replaying a log where both
            # are present): the schedule keeps what it has.
            return state
        if state is None:
            return EmailState(
                email_id=event.email_id,
                kind=event.kind,
                recipient=event.recipient,
                cause_event_id=event.cause_event_id,
                offer_id=event.offer_id,
                status=Status.RETRYING,
                attempts=event.attempt,
                version=envelope.stream_version,
                source_event_id=event.source_event_id,
                failing_since=event.failing_since,
                next_attempt_at=event.next_attempt_at,
                detail=event.reason,
            )
        return replace(
            state,
            attempts=event.attempt,
            version=envelope.stream_version,
            next_attempt_at=event.next_attempt_at,
            detail=event.reason,
        )
    # EmailResendRequested: a new email, due at once, its retry period starting now.
    if state is not None:
        return state
    return EmailState(
        email_id=event.email_id,
        kind=event.kind,
        recipient=event.recipient,
        cause_event_id=envelope.event_id,
        offer_id=event.offer_id,
        status=Status.RETRYING,
        attempts=0,
        version=envelope.stream_version,
        source_event_id=event.source_event_id,
        failing_since=envelope.occurred_at,
        next_attempt_at=envelope.occurred_at,
        resend_of=event.resend_of,
    )


def email_of(envelope: NotifierEnvelope) -> uuid.UUID:
    """Which email an event of the notifier is about."""
    event = envelope.payload
    if isinstance(event, EmailDeferred | EmailResendRequested):
        return event.email_id
    return envelope.event_id
