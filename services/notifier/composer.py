"""The emails an event asks for, one function per kind of event: their links are built here
and their messages rendered only when attempted.

Each email is composed from one event (its source): a retry or a resend composes it again
from the same event, so it carries the same links and words.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlencode

from contracts.activity import OrganiserAdded, OrganiserSignInRequested
from contracts.badge import (
    BadgeAwarded,
    BadgeOffered,
    HeldBadgeRequested,
    PeerReviewerInvited,
)
from contracts.evidence import (
    AddressSignInAsked,
    PlaylistInvitationSent,
    ReviewRequested,
    SignInRequested,
    SubmissionRejected,
)
from contracts.tokens import ClaimTokens
from services.kernel.store import Connection
from services.notifier import emails
from services.notifier.adapters import read_models as tables
from services.notifier.delivery import Composed
from services.notifier.domain.state import MailSource
from services.notifier.rendering import Renderer
from services.notifier.settings import NotifierSettings

Compose = Callable[[Connection, MailSource], Awaitable[list[Composed]]]


def _organiser_id(actor: str) -> uuid.UUID | None:
    """The organiser behind an event's actor ('organiser:<id>'), if it was one."""
    kind, _, value = actor.partition(":")
    try:
        return uuid.UUID(value) if kind == "organiser" else None
    except ValueError:
        return None


def composer(
    settings: NotifierSettings, tokens: ClaimTokens, renderer: Renderer | None = None
) -> Compose:
    """The emails an event asks for, by the event's type; offers' messages (their QR codes)
    rendered by `renderer` (in worker processes; on the loop when None)."""
    renderer = renderer or Renderer(0)
    base = settings.badge_public_url.rstrip("/")
    catalogue = settings.activity_public_url.rstrip("/")
    evidence = settings.evidence_public_url.rstrip("/")
    console = settings.console_public_url.rstrip("/")
    sender = emails.Sender(settings.smtp_from)

    async def compose_offer(conn: Connection, offer: BadgeOffered) -> list[Composed]:

        async def read() -> Callable[[], Awaitable[EmailMessage]]:
            link = f"{base}/claim/{tokens.personal(offer.offer_id)}"
            badge = await tables.badge(conn, offer.badge_class_id) or {}
            mode = badge.get("evidence_mode", "none")
            count = badge.get("task_count", 0)

            async def rendering() -> EmailMessage:
                return await renderer(emails.offer_email, sender, offer, link, mode, count)

            return rendering

        async def render() -> EmailMessage:
            return await (await read())()

        return [Composed("offer", offer.recipient_email, render, offer.offer_id, read)]

    async def compose_award(conn: Connection, awarded: BadgeAwarded) -> list[Composed]:

        async def render() -> EmailMessage:
            link = f"{base}/badges/{awarded.assertion_id}"
            return emails.award_email(sender, awarded, link)

        return [Composed("award", awarded.recipient_email, render)]

    async def compose_already_held(conn: Connection, asked: HeldBadgeRequested) -> list[Composed]:
        # The open link answers a holder as it answers anyone; this email tells them.

        async def render() -> EmailMessage:
            link = f"{base}/badges/{asked.assertion_id}"
            return emails.already_held_email(sender, asked, link)

        return [Composed("award", asked.recipient_email, render)]

    async def compose_review_requests(conn: Connection, request: ReviewRequested) -> list[Composed]:

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

    async def compose_rejection(
        conn: Connection, rejected: SubmissionRejected, made_at: datetime
    ) -> list[Composed]:

        async def render() -> EmailMessage:
            link = sign_in_link(rejected.quest_id, rejected.learner_email, made_at)
            issuer = await tables.issuer_of_quest(conn, rejected.quest_id)
            return emails.rejection_email(sender, rejected, link, issuer)

        return [Composed("rejected", rejected.learner_email, render)]

    async def compose_sign_in(
        conn: Connection, asked: SignInRequested, made_at: datetime
    ) -> list[Composed]:

        async def render() -> EmailMessage:
            link = sign_in_link(asked.quest_id, asked.learner_email, made_at)
            issuer = await tables.issuer_of_quest(conn, asked.quest_id)
            return emails.sign_in_email(sender, asked, link, issuer)

        return [Composed("sign_in", asked.learner_email, render)]

    async def compose_organiser_sign_in(
        conn: Connection, asked: OrganiserSignInRequested
    ) -> list[Composed]:
        # The link carries the request's id and expiry, tagged: it is in no event.

        async def render() -> EmailMessage:
            token = tokens.organiser_sign_in(asked.request_id, asked.expires_at)
            organisation = await tables.organisation_name(conn, asked.organisation_id)
            return emails.organiser_sign_in_email(
                sender, asked, f"{console}/sign-in/{token}", organisation
            )

        return [Composed("sign_in", asked.email, render)]

    async def compose_colleague(
        conn: Connection, added: OrganiserAdded, actor: str
    ) -> list[Composed]:
        # Only a colleague's invitation is mailed: an organisation's first organiser is made
        # by the operator, who tells them themselves.
        inviter_id = _organiser_id(actor)
        if inviter_id is None:
            return []

        async def render() -> EmailMessage:
            inviter = await tables.organiser_name(conn, inviter_id)
            organisation = await tables.organisation_name(conn, added.organisation_id)
            link = f"{console}/sign-in?{urlencode({'email': added.email})}"
            return emails.colleague_invitation_email(sender, added, inviter, organisation, link)

        return [Composed("sign_in", added.email, render)]

    async def compose_invitation(
        conn: Connection, invited: PeerReviewerInvited, actor: str
    ) -> list[Composed]:
        # No link: there is nothing to open until evidence waits for the reviewer, and each
        # review request then brings its own link, which works on any device.

        async def render() -> EmailMessage:
            found = await tables.badge(conn, invited.badge_class_id) or {}
            badge = emails.BadgeFacts(
                name=found.get("name", "a badge"),
                issuer=found.get("issuer"),
                criteria=found.get("criteria", ""),
                evidence_mode=found.get("evidence_mode", "peer"),
                task_count=found.get("task_count", 0),
            )
            organiser = _organiser_id(actor)
            inviter = await tables.organiser_name(conn, organiser) if organiser else None
            return emails.reviewer_invitation_email(sender, invited, badge, inviter)

        # Recorded as a review email: the kinds of EmailSent are fixed in its schema.
        return [Composed("review_requested", invited.email, render)]

    async def compose_address_sign_in(
        asked: AddressSignInAsked, made_at: datetime
    ) -> list[Composed]:
        # A link that proves the address to the learner's home, whatever it holds; its
        # expiry counts from the ask's time, so a replay makes the same link.

        async def render() -> EmailMessage:
            token = tokens.address_sign_in(asked.learner_email, made_at)
            link = f"{evidence}/sign-in/address/{token}?{urlencode({'email': asked.learner_email})}"
            return emails.address_sign_in_email(sender, asked, link)

        return [Composed("sign_in", asked.learner_email, render)]

    async def compose_playlist_invitation(invited: PlaylistInvitationSent) -> list[Composed]:
        link = f"{catalogue}/catalogue/playlists/{invited.playlist_id}"

        def for_invitee(invitee: str) -> Composed:
            async def render() -> EmailMessage:
                return emails.playlist_invitation_email(sender, invited, invitee, link)

            # Recorded as an offer's kind of email (no offer id): an invitation to earn badges;
            # the kinds of EmailSent are fixed in its schema.
            return Composed("offer", invitee, render)

        return [for_invitee(invitee) for invitee in invited.invitees]

    async def compose(conn: Connection, source: MailSource) -> list[Composed]:
        event = source.payload
        if isinstance(event, BadgeOffered):
            return await compose_offer(conn, event)
        if isinstance(event, BadgeAwarded):
            return await compose_award(conn, event)
        if isinstance(event, HeldBadgeRequested):
            return await compose_already_held(conn, event)
        if isinstance(event, ReviewRequested):
            return await compose_review_requests(conn, event)
        if isinstance(event, SubmissionRejected):
            return await compose_rejection(conn, event, source.occurred_at)
        if isinstance(event, SignInRequested):
            return await compose_sign_in(conn, event, source.occurred_at)
        if isinstance(event, OrganiserSignInRequested):
            return await compose_organiser_sign_in(conn, event)
        if isinstance(event, OrganiserAdded):
            return await compose_colleague(conn, event, source.actor)
        if isinstance(event, AddressSignInAsked):
            return await compose_address_sign_in(event, source.occurred_at)
        if isinstance(event, PlaylistInvitationSent):
            return await compose_playlist_invitation(event)
        return await compose_invitation(conn, event, source.actor)

    return compose
