"""Composes the messages the notifier sends: multipart text and HTML (a small responsive layout
with its own head, title and viewport), names escaped, the issuing organisation as sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts.activity import OrganiserAdded, OrganiserSignInRequested
from contracts.badge import (
    BadgeAwarded,
    BadgeOffered,
    EvidenceMode,
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
from services.notifier import qr

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)

# Who approves a quest's evidence, in the words of the offer email.
_REVIEWED_BY: dict[str, str] = {
    "self": "you confirm it yourself",
    "peer": "other people who know the subject review it",
    "organiser": "the organisers review it",
}


def _one_line(text: str) -> str:
    # Names come from organisers: no line breaks may reach a header.
    return " ".join(text.split())


@dataclass(frozen=True)
class Sender:
    """The From address: the configured mailbox, under the issuing organisation's name."""

    configured: str

    def on_behalf_of(self, organisation: str | None) -> str:
        default_name, address = parseaddr(self.configured)
        username, _, domain = (address or "badges@localhost").partition("@")
        name = _one_line(organisation or default_name or "Open Badges")
        return str(Address(display_name=name, username=username, domain=domain))


def _message(sender: str, recipient: str, subject: str, headers: dict[str, str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = _one_line(subject)
    for name, value in headers.items():
        message[name] = value
    return message


def _rendered(
    sender: str,
    recipient: str,
    subject: str,
    headers: dict[str, str],
    template: str,
    context: dict[str, Any],
) -> EmailMessage:
    """A message from `template`.txt, and `template`.html beside it as the HTML part."""
    message = _message(sender, recipient, subject, headers)
    context = context | {"title": message["Subject"]}
    message.set_content(_TEMPLATES.get_template(f"{template}.txt").render(context))
    message.add_alternative(
        _TEMPLATES.get_template(f"{template}.html").render(context), subtype="html"
    )
    return message


def _tasks_phrase(count: int) -> str:
    return "evidence for its task" if count == 1 else f"evidence for each of its {count} tasks"


def offer_email(
    sender: Sender,
    offer: BadgeOffered,
    link: str,
    evidence_mode: EvidenceMode = "none",
    task_count: int = 0,
) -> EmailMessage:
    """The claim link, with its QR code as an inline part of the HTML (multipart/related), so
    mail clients show it in the text and do not list it as an attachment. A badge that asks for
    evidence is started, not accepted: the email says what comes next."""
    qr_cid = make_msgid(domain="badges.local")
    quest = evidence_mode != "none"
    message = _rendered(
        sender.on_behalf_of(offer.issuer_name),
        offer.recipient_email,
        f"{offer.issuer_name} has a badge for you: {offer.badge_name}",
        {"X-Badge-Offer": str(offer.offer_id)},
        "offer",
        {
            "issuer": offer.issuer_name,
            "badge": offer.badge_name,
            "description": offer.badge_description,
            "link": link,
            "expires": offer.expires_at.date().isoformat(),
            "qr_cid": qr_cid[1:-1],
            "quest": quest,
            "tasks": _tasks_phrase(max(task_count, 1)),
            "reviewed_by": _REVIEWED_BY.get(evidence_mode, ""),
        },
    )
    html_part = message.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        qr.png(link),
        "image",
        "png",
        cid=qr_cid,
        disposition="inline",
        filename="claim-qr.png",
    )
    return message


def award_email(sender: Sender, awarded: BadgeAwarded, badge_page: str) -> EmailMessage:
    return _rendered(
        sender.on_behalf_of(awarded.issuer_name),
        awarded.recipient_email,
        f"Your badge: {awarded.badge_name}",
        {"X-Badge-Assertion": str(awarded.assertion_id)},
        "award",
        {"issuer": awarded.issuer_name, "badge": awarded.badge_name, "link": badge_page},
    )


def already_held_email(sender: Sender, asked: HeldBadgeRequested, badge_page: str) -> EmailMessage:
    return _rendered(
        sender.on_behalf_of(asked.issuer_name),
        asked.recipient_email,
        f"You already hold this badge: {asked.badge_name}",
        {"X-Badge-Assertion": str(asked.assertion_id)},
        "already_held",
        {"issuer": asked.issuer_name, "badge": asked.badge_name, "link": badge_page},
    )


def review_request_email(
    sender: Sender, request: ReviewRequested, reviewer: str, link: str, issuer: str | None
) -> EmailMessage:
    return _rendered(
        sender.on_behalf_of(issuer),
        reviewer,
        f"Evidence to review for {request.badge_name}",
        {"X-Badge-Submission": str(request.submission_id)},
        "review",
        {"badge": request.badge_name, "task": request.task_title, "link": link},
    )


def rejection_email(
    sender: Sender, rejected: SubmissionRejected, link: str, issuer: str | None
) -> EmailMessage:
    return _rendered(
        sender.on_behalf_of(issuer),
        rejected.learner_email,
        f"Your evidence for {rejected.badge_name} needs another look",
        {"X-Badge-Submission": str(rejected.submission_id)},
        "rejected",
        {"badge": rejected.badge_name, "feedback": rejected.feedback, "link": link},
    )


def sign_in_email(
    sender: Sender, asked: SignInRequested, link: str, issuer: str | None
) -> EmailMessage:
    return _rendered(
        sender.on_behalf_of(issuer),
        asked.learner_email,
        f"Your quest for {asked.badge_name}",
        {},
        "sign_in",
        {"badge": asked.badge_name, "link": link},
    )


def organiser_sign_in_email(
    sender: Sender, asked: OrganiserSignInRequested, link: str, organisation: str | None
) -> EmailMessage:
    """An organiser's one-time link into the console; it says how long it works."""
    minutes = max(1, round((asked.expires_at - datetime.now(UTC)).total_seconds() / 60))
    return _rendered(
        sender.on_behalf_of(organisation),
        asked.email,
        "Your sign-in link for the Open Badges console",
        {},
        "organiser_sign_in",
        {"organisation": organisation or "your organisation", "link": link, "minutes": minutes},
    )


def colleague_invitation_email(
    sender: Sender,
    added: OrganiserAdded,
    inviter: str | None,
    organisation: str | None,
    link: str,
) -> EmailMessage:
    """A new organiser's welcome: who added them, and the console's sign-in."""
    where = organisation or "an organisation"
    return _rendered(
        sender.on_behalf_of(organisation),
        added.email,
        f"You are an organiser of {where} on Open Badges",
        {},
        "colleague_invited",
        {
            "name": added.name,
            "inviter": inviter or "A colleague",
            "organisation": where,
            "link": link,
        },
    )


def address_sign_in_email(sender: Sender, asked: AddressSignInAsked, link: str) -> EmailMessage:
    return _rendered(
        sender.on_behalf_of(None),
        asked.learner_email,
        "Sign in to your badges",
        {},
        "address_sign_in",
        {"link": link, "email": asked.learner_email},
    )


def playlist_invitation_email(
    sender: Sender, invited: PlaylistInvitationSent, invitee: str, link: str
) -> EmailMessage:
    return _rendered(
        sender.on_behalf_of(invited.issuer_name),
        invitee,
        f"You are invited to the playlist {invited.playlist_name}",
        {"X-Badge-Playlist": str(invited.playlist_id)},
        "playlist_invitation",
        {
            "inviter": invited.inviter,
            "by_organiser": invited.inviter_kind == "organiser",
            "issuer": invited.issuer_name or "its organisers",
            "playlist": invited.playlist_name,
            "note": invited.note,
            "link": link,
        },
    )


@dataclass(frozen=True)
class BadgeFacts:
    """What the notifier knows of a badge from the badge service's events."""

    name: str
    issuer: str | None
    criteria: str
    evidence_mode: EvidenceMode
    task_count: int


def reviewer_invitation_email(
    sender: Sender, invited: PeerReviewerInvited, badge: BadgeFacts, inviter: str | None
) -> EmailMessage:
    issuer = badge.issuer or "the organisers"
    return _rendered(
        sender.on_behalf_of(badge.issuer),
        invited.email,
        f"You are invited to review evidence for {badge.name}",
        {"X-Badge-Class": str(invited.badge_class_id)},
        "reviewer_invited",
        {
            "inviter": inviter or "An organiser",
            "issuer": issuer,
            "badge": badge.name,
            "criteria": badge.criteria,
        },
    )
