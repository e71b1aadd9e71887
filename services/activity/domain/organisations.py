"""Organisations: what one may publish about itself in its Issuer profile (a web address
verifiers and learners can open, http or https only, and a real email address), decided
before it exists, and its state once it does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from contracts import Envelope
from contracts.activity import OrganisationCreated
from services.kernel.errors import Invalid, NotFound


@dataclass(frozen=True)
class Organisation:
    organisation_id: uuid.UUID
    name: str
    url: str
    email: str
    created_at: datetime


def check_issuer_url(url: str) -> str:
    """The Issuer's `url` is shown as a link on every badge: a `javascript:` or `data:` one
    would run in the pages that show it, so only absolute http(s) addresses with a host."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as error:
        raise Invalid(f"the organisation's url is not a web address: {error}") from error
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid(
            f"the organisation's url must start with https:// or http:// (not {url[:40]!r})"
        )
    if not host or any(c.isspace() for c in url):
        raise Invalid("the organisation's url needs a host name, like https://example.org")
    if len(url) > 500:
        raise Invalid("the organisation's url is longer than 500 characters")
    return url


def check_email(email: str, what: str) -> str:
    """The address as stored and shown: trimmed, domain lower-cased (no DNS look-up). The one
    place the activity service normalises an email: every event carrying one goes through it."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise Invalid(f"{what} is not a valid email address: {error}") from error


def decide_create_organisation(
    organisation_id: uuid.UUID, name: str, url: str, email: str
) -> list[OrganisationCreated]:
    return [
        OrganisationCreated(
            organisation_id=organisation_id,
            name=name,
            url=check_issuer_url(url),
            email=check_email(email, "the organisation's email"),
        )
    ]


def existing(organisation: Organisation | None) -> Organisation:
    """Organisers are added to an organisation that exists."""
    if organisation is None:
        raise NotFound("organisation not found")
    return organisation


def evolve_organisation(
    state: Organisation | None, envelope: Envelope[OrganisationCreated]
) -> Organisation:
    """An organisation is only ever created: its profile has no event that changes it yet."""
    event = envelope.payload
    if state is not None:
        return state
    return Organisation(
        organisation_id=event.organisation_id,
        name=event.name,
        url=event.url,
        email=event.email,
        created_at=envelope.occurred_at,
    )
