"""What an organisation may publish about itself in its Issuer profile: a web address
verifiers and learners can open (http or https only) and a real email address."""

from __future__ import annotations

from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from services.kernel.errors import DomainError


class Invalid(DomainError):
    status_code = 422


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
    """The address as stored and shown: trimmed, domain lower-cased (no DNS look-up)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise Invalid(f"{what} is not a valid email address: {error}") from error
