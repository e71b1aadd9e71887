"""What the notifier does with events: mail offers and awards, and record each email once.

Each email's outcome is appended (EmailSent/EmailFailed, its id derived from the cause) and
acknowledged by Kafka before the next email goes: a crash or retry finds it there and does
not mail again. The only window for a duplicate is between the SMTP server accepting a
message and Kafka acknowledging its record.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from contracts import Envelope, derived_id, new_envelope
from contracts.badge import BadgeAwarded, BadgeOffered, HeldBadgeRequested
from contracts.evidence import ReviewRequested, SignInRequested, SubmissionRejected
from contracts.notifier import EmailFailed, EmailKind, EmailSent
from services.kernel.claim_tokens import ClaimTokens
from services.kernel.unit_of_work import Handler, HandlerMap, UnitOfWork
from services.notifier import emails
from services.notifier.adapters.smtp import Mailer
from services.notifier.settings import NotifierSettings


async def email_recorded(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: EmailSent | EmailFailed = envelope.payload
    uow.conn.defer(
        "INSERT INTO emails (email_id, cause_event_id, kind, recipient, status, detail, "
        "attempts, offer_id, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (email_id) DO NOTHING",
        envelope.event_id,
        event.cause_event_id,
        event.kind,
        event.recipient,
        "sent" if isinstance(event, EmailSent) else "failed",
        event.subject if isinstance(event, EmailSent) else event.reason,
        event.attempts,
        event.offer_id,
        envelope.occurred_at,
    )


class Delivered:
    """Outcomes of emails this process sent, kept from the moment the SMTP server accepted
    them: when recording one in Kafka fails and the batch is tried again, the record is
    appended from here instead of mailing the person again."""

    def __init__(self, size: int = 100_000) -> None:
        self._outcomes: OrderedDict[uuid.UUID, Envelope[Any]] = OrderedDict()
        self._size = size

    def get(self, outcome_id: uuid.UUID) -> Envelope[Any] | None:
        return self._outcomes.get(outcome_id)

    def keep(self, outcome: Envelope[Any]) -> None:
        self._outcomes[outcome.event_id] = outcome
        if len(self._outcomes) > self._size:
            self._outcomes.popitem(last=False)


async def _send_once(
    uow: UnitOfWork,
    mailer: Mailer,
    delivered: Delivered,
    cause: Envelope[Any],
    kind: EmailKind,
    message: EmailMessage,
    offer_id: Any = None,
) -> None:
    # One email per cause and recipient (a review request goes to several reviewers).
    recipient_key = "" if kind in ("offer", "award") else f":{message['To']}"
    outcome_id = derived_id(cause.event_id, "EmailOutcome" + recipient_key)
    if await uow.is_applied(outcome_id):
        return  # mailed and recorded before (a redelivery, or a replay)
    earlier = delivered.get(outcome_id)
    if earlier is not None:
        await uow.emit(earlier, wait=True)  # mailed in an earlier try of this batch
        return
    delivery = await mailer.deliver(message)
    recipient = str(message["To"])
    outcome: EmailSent | EmailFailed
    if delivery.sent:
        outcome = EmailSent(
            cause_event_id=cause.event_id,
            kind=kind,
            recipient=recipient,
            subject=str(message["Subject"])[:500],
            attempts=delivery.attempts,
            offer_id=offer_id,
        )
    else:
        outcome = EmailFailed(
            cause_event_id=cause.event_id,
            kind=kind,
            recipient=recipient,
            reason=delivery.error[:2_000],
            attempts=delivery.attempts,
            offer_id=offer_id,
        )
    recorded = new_envelope(
        outcome,
        event_id=outcome_id,
        stream_id=cause.event_id,
        stream_version=1,
        causation_id=cause.event_id,
        correlation_id=cause.correlation_id,
        actor="service:notifier",
    )
    delivered.keep(recorded)
    await uow.emit(recorded, wait=True)


def build_handlers(settings: NotifierSettings, mailer: Mailer, tokens: ClaimTokens) -> HandlerMap:
    base = settings.badge_public_url.rstrip("/")
    delivered = Delivered()

    async def mail_offer(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        offer: BadgeOffered = cause.payload
        link = f"{base}/claim/{tokens.personal(offer.offer_id)}"
        message = emails.offer_email(settings.smtp_from, offer, link)
        await _send_once(uow, mailer, delivered, cause, "offer", message, offer.offer_id)

    async def mail_award(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        awarded: BadgeAwarded = cause.payload
        message = emails.award_email(
            settings.smtp_from, awarded, f"{base}/badges/{awarded.assertion_id}"
        )
        await _send_once(uow, mailer, delivered, cause, "award", message)

    async def mail_already_held(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        asked: HeldBadgeRequested = cause.payload
        link = f"{base}/badges/{asked.assertion_id}"
        message = emails.already_held_email(settings.smtp_from, asked, link)
        await _send_once(uow, mailer, delivered, cause, "award", message)

    evidence = settings.evidence_public_url.rstrip("/")

    async def mail_reviewers(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        request: ReviewRequested = cause.payload
        for reviewer in request.reviewers:
            token = tokens.review(request.submission_id, reviewer)
            link = f"{evidence}/reviews/{token}?{urlencode({'reviewer': reviewer})}"
            message = emails.review_request_email(settings.smtp_from, request, reviewer, link)
            await _send_once(uow, mailer, delivered, cause, "review_requested", message)

    async def mail_rejection(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        rejected: SubmissionRejected = cause.payload
        # A sign-in link to the quest: it works on any device, for a few days.
        token = tokens.sign_in(rejected.quest_id, rejected.learner_email, cause.occurred_at)
        link = f"{evidence}/sign-in/{token}?{urlencode({'email': rejected.learner_email})}"
        message = emails.rejection_email(settings.smtp_from, rejected, link)
        await _send_once(uow, mailer, delivered, cause, "rejected", message)

    async def mail_sign_in(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        asked: SignInRequested = cause.payload
        token = tokens.sign_in(asked.quest_id, asked.learner_email, cause.occurred_at)
        link = f"{evidence}/sign-in/{token}?{urlencode({'email': asked.learner_email})}"
        message = emails.sign_in_email(settings.smtp_from, asked, link)
        await _send_once(uow, mailer, delivered, cause, "sign_in", message)

    handlers: dict[Any, Handler] = {
        SignInRequested: mail_sign_in,
        BadgeOffered: mail_offer,
        BadgeAwarded: mail_award,
        HeldBadgeRequested: mail_already_held,
        ReviewRequested: mail_reviewers,
        SubmissionRejected: mail_rejection,
        EmailSent: email_recorded,
        EmailFailed: email_recorded,
    }
    return handlers
