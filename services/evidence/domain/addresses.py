"""Email addresses as this service compares them: trimmed and lower-cased, everywhere (links,
sessions, organisers), so one person is one address."""

from __future__ import annotations


def normalise_email(email: str) -> str:
    return email.strip().lower()
