"""What the notifier does with events: compose each kind of email (its links are built here,
one function per kind), mail it at once, and record it; the retry schedule takes over from
an attempt that may pass later.

Each email is composed from one event (its source): a retry or a resend composes it again
from the same event, so it carries the same links and words.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from contracts import Envelope, derived_envelope
from contracts.badge import (
    BadgeAwarded,
    BadgeOffered,
    HeldBadgeRequested,
    OfferResendRequested,
    PeerReviewerInvited,
)
from contracts.evidence import ReviewRequested, SignInRequested, SubmissionRejected
from contracts.notifier import EmailFailed
from contracts.tokens import ClaimTokens
from services.kernel.handlers import Handlers
from services.kernel.store import Connection
from services.kernel.unit_of_work import UnitOfWork
from services.notifier import emails
from services.notifier.adapters import tables
from services.notifier.delivery import Composed, Courier, Email, email_id
from services.notifier.projections import PROJECTIONS
from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)

Compose = Callable[[Connection, Envelope[Any]], Awaitable[list[Composed]]]


def _organiser_id(actor: str) -> uuid.UUID | None:
    """The organiser behind an event's actor ('organiser:<id>'), if it was one."""
    kind, _, value = actor.partition(":")
    try:
        return uuid.UUID(value) if kind == "organiser" else None
    except ValueError:
        return None


def composer(settings: NotifierSettings, tokens: ClaimTokens) -> Compose:
    """The emails an event asks for, by the event's type."""
    base = settings.badge_public_url.rstrip("/")
    evidence = settings.evidence_public_url.rstrip("/")
    sender = emails.Sender(settings.smtp_from)

    async def compose_offer(conn: Connection, cause: Envelope[Any]) -> list[Composed]:
        offer: BadgeOffered = cause.payload

        async def render() -> EmailMessage:
            link = f"{base}/claim/{tokens.personal(offer.offer_id)}"
            badge = await tables.badge(conn, offer.badge_class_id) or {}
            mode = badge.get("evidence_mode", "none")
            count = badge.get("task_count", 0)
            return emails.offer_email(sender, offer, link, mode, count)

        return [Composed("offer", offer.recipient_email, render, offer.offer_id)]

    async def compose_award(conn: Connection, cause: Envelope[Any]) -> list[Composed]:
        awarded: BadgeAwarded = cause.payload

        async def render() -> EmailMessage:
            link = f"{base}/badges/{awarded.assertion_id}"
            return emails.award_email(sender, awarded, link)

        return [Composed("award", awarded.recipient_email, render)]

    async def compose_already_held(conn: Connection, cause: Envelope[Any]) -> list[Composed]:
        # The open link answers a holder as it answers anyone; this email tells them.
        asked: HeldBadgeRequested = cause.payload

        async def render() -> EmailMessage:
            link = f"{base}/badges/{asked.assertion_id}"
            return emails.already_held_email(sender, asked, link)

        return [Composed("award", asked.recipient_email, render)]

    async def compose_review_requests(conn: Connection, cause: Envelope[Any]) -> list[Composed]:
        request: ReviewRequested = cause.payload

        def for_reviewer(reviewer: str) -> Composed:
            async def render() -> EmailMessage:
                token = tokens.review(request.submission_id, reviewer)
                link = f"{evidence}/reviews/{token}?{urlencode({'reviewer': reviewer})}"
                issuer = await tables.issuer_of_quest(conn, request.quest_id)
                return emails.review_request_email(sender, request, reviewer, link, issuer)

            return Composed("review_requested", reviewer, render)

        return [for_reviewer(reviewer) for reviewer in request.reviewers]

    def sign_in_link(quest_id: uuid.UUID, learner: str, made_at: datetime) -> str:
        """A link that signs the learner in to one quest on any device, for a few days (its
        expiry counts from `made_at`, the causing event's time, so a replay makes the same)."""
        token = tokens.sign_in(quest_id, learner, made_at)
        return f"{evidence}/sign-in/{token}?{urlencode({'email': learner})}"

    async def compose_rejection(conn: Connection, cause: Envelope[Any]) -> list[Composed]:
        rejected: SubmissionRejected = cause.payload

        async def render() -> EmailMessage:
            link = sign_in_link(rejected.quest_id, rejected.learner_email, cause.occurred_at)
            issuer = await tables.issuer_of_quest(conn, rejected.quest_id)
            return emails.rejection_email(sender, rejected, link, issuer)

        return [Composed("rejected", rejected.learner_email, render)]

    async def compose_sign_in(conn: Connection, cause: Envelope[Any]) -> list[Composed]:
        asked: SignInRequested = cause.payload

        async def render() -> EmailMessage:
            link = sign_in_link(asked.quest_id, asked.learner_email, cause.occurred_at)
            issuer = await tables.issuer_of_quest(conn, asked.quest_id)
            return emails.sign_in_email(sender, asked, link, issuer)

        return [Composed("sign_in", asked.learner_email, render)]

    async def compose_invitation(conn: Connection, cause: Envelope[Any]) -> list[Composed]:
        # No link: there is nothing to open until evidence waits for the reviewer, and each
        # review request then brings its own link, which works on any device.
        invited: PeerReviewerInvited = cause.payload

        async def render() -> EmailMessage:
            found = await tables.badge(conn, invited.badge_class_id) or {}
            badge = emails.BadgeFacts(
                name=found.get("name", "a badge"),
                issuer=found.get("issuer"),
                criteria=found.get("criteria", ""),
                evidence_mode=found.get("evidence_mode", "peer"),
                task_count=found.get("task_count", 0),
            )
            organiser = _organiser_id(cause.actor)
            inviter = await tables.organiser_name(conn, organiser) if organiser else None
            return emails.reviewer_invitation_email(sender, invited, badge, inviter)

        # Recorded as a review email: the kinds of EmailSent are fixed in its schema.
        return [Composed("review_requested", invited.email, render)]

    by_type: dict[type[Any], Compose] = {
        BadgeOffered: compose_offer,
        BadgeAwarded: compose_award,
        HeldBadgeRequested: compose_already_held,
        ReviewRequested: compose_review_requests,
        SubmissionRejected: compose_rejection,
        SignInRequested: compose_sign_in,
        PeerReviewerInvited: compose_invitation,
    }

    async def compose(conn: Connection, source: Envelope[Any]) -> list[Composed]:
        return await by_type[type(source.payload)](conn, source)

    return compose


MAIL_SOURCES = (
    BadgeOffered,
    BadgeAwarded,
    HeldBadgeRequested,
    ReviewRequested,
    SubmissionRejected,
    SignInRequested,
    PeerReviewerInvited,
)


def build_handlers(compose: Compose, courier: Courier) -> Handlers:
    async def mail(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        """Keep the event the emails are composed from, and mail each at once."""
        payload = cause.payload
        if isinstance(payload, PeerReviewerInvited) and not await tables.first_invitation(
            uow.conn, payload.badge_class_id, payload.email
        ):
            return  # invited again: one invitation is enough
        offer_id = payload.offer_id if isinstance(payload, BadgeOffered) else None
        await tables.keep_source(uow.conn, cause, offer_id)
        for composed in await compose(uow.conn, cause):
            await courier.first_attempt(uow, Email.of(composed, cause, cause.event_id))

    async def resend_offer(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        """The organiser's resend: the offer's email once more, as a new email."""
        request: OfferResendRequested = cause.payload
        source = await tables.offer_source(uow.conn, request.offer_id)
        if source is None:
            # Offers from before the notifier kept what emails are composed from: say so where
            # the organiser looks, rather than leave the offer "resending".
            log.warning("resend of offer %s, which this notifier never saw", request.offer_id)
            failed = EmailFailed(
                cause_event_id=cause.event_id,
                kind="offer",
                recipient="(unknown)",
                reason="the notifier does not know this offer's email; rebuild the notifier",
                attempts=1,
                offer_id=request.offer_id,
            )
            record = derived_envelope(
                failed,
                cause,
                event_id=email_id(cause.event_id, "offer", ""),
                stream_id=cause.event_id,
                stream_version=1,
                actor="service:notifier",
            )
            await uow.emit(record, wait=True)
            return
        for composed in await compose(uow.conn, source):
            await courier.first_attempt(uow, Email.of(composed, cause, source.event_id))

    handlers = Handlers().include(PROJECTIONS)
    for source in MAIL_SOURCES:
        handlers.react(source, mail)
    return handlers.react(OfferResendRequested, resend_offer)
