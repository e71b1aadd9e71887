"""Composes the messages the notifier sends: multipart text and HTML, names escaped."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import qrcode
from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts.badge import BadgeAwarded, BadgeOffered, HeldBadgeRequested
from contracts.evidence import ReviewRequested, SignInRequested, SubmissionRejected

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


def _qr_png(url: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(url, box_size=6, border=2).save(out)
    return out.getvalue()


def _message(sender: str, recipient: str, subject: str, headers: dict[str, str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    # Names come from organisers: no line breaks may reach a header.
    message["Subject"] = " ".join(subject.split())
    for name, value in headers.items():
        message[name] = value
    return message


def offer_email(sender: str, offer: BadgeOffered, link: str) -> EmailMessage:
    context = {
        "issuer": offer.issuer_name,
        "badge": offer.badge_name,
        "description": offer.badge_description,
        "link": link,
        "expires": offer.expires_at.date().isoformat(),
    }
    message = _message(
        sender,
        offer.recipient_email,
        f"{offer.issuer_name} has a badge for you: {offer.badge_name}",
        {"X-Badge-Offer": str(offer.offer_id)},
    )
    message.set_content(_TEMPLATES.get_template("offer.txt").render(context))
    qr_cid = make_msgid(domain="badges.local")
    html = _TEMPLATES.get_template("offer.html").render(context | {"qr_cid": qr_cid[1:-1]})
    message.add_alternative(html, subtype="html")
    html_part = message.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(_qr_png(link), "image", "png", cid=qr_cid, filename="claim-qr.png")
    return message


def _rendered(
    sender: str,
    recipient: str,
    subject: str,
    headers: dict[str, str],
    template: str,
    context: dict[str, str],
    html: bool = True,
) -> EmailMessage:
    """A message from `template`.txt, and `template`.html beside it as the HTML part."""
    message = _message(sender, recipient, subject, headers)
    message.set_content(_TEMPLATES.get_template(f"{template}.txt").render(context))
    if html:
        body = _TEMPLATES.get_template(f"{template}.html").render(context)
        message.add_alternative(body, subtype="html")
    return message


def award_email(sender: str, awarded: BadgeAwarded, badge_page: str) -> EmailMessage:
    return _rendered(
        sender,
        awarded.recipient_email,
        f"Your badge: {awarded.badge_name}",
        {"X-Badge-Assertion": str(awarded.assertion_id)},
        "award",
        {"issuer": awarded.issuer_name, "badge": awarded.badge_name, "link": badge_page},
    )


def already_held_email(sender: str, asked: HeldBadgeRequested, badge_page: str) -> EmailMessage:
    return _rendered(
        sender,
        asked.recipient_email,
        f"You already hold this badge: {asked.badge_name}",
        {"X-Badge-Assertion": str(asked.assertion_id)},
        "already_held",
        {"issuer": asked.issuer_name, "badge": asked.badge_name, "link": badge_page},
        html=False,
    )


def review_request_email(
    sender: str, request: ReviewRequested, reviewer: str, link: str
) -> EmailMessage:
    return _rendered(
        sender,
        reviewer,
        f"Evidence to review for {request.badge_name}",
        {"X-Badge-Submission": str(request.submission_id)},
        "review",
        {"badge": request.badge_name, "task": request.task_title, "link": link},
    )


def rejection_email(sender: str, rejected: SubmissionRejected, link: str) -> EmailMessage:
    return _rendered(
        sender,
        rejected.learner_email,
        f"Your evidence for {rejected.badge_name} needs another look",
        {"X-Badge-Submission": str(rejected.submission_id)},
        "rejected",
        {"badge": rejected.badge_name, "feedback": rejected.feedback, "link": link},
    )


def sign_in_email(sender: str, asked: SignInRequested, link: str) -> EmailMessage:
    return _rendered(
        sender,
        asked.learner_email,
        f"Your quest for {asked.badge_name}",
        {},
        "sign_in",
        {"badge": asked.badge_name, "link": link},
        html=False,
    )
