"""Refusals the domain can give, in the domain's words. They know nothing of HTTP: the web
layer (services/kernel/web/refusals.py) holds the one table from refusal to status."""

from __future__ import annotations


class DomainError(Exception):
    """A command that the domain refuses, with a message for the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    """The command cannot be read as asked (a malformed value)."""


class Invalid(DomainError):
    """The command is well formed but a value in it is not acceptable."""


class NotFound(DomainError):
    """What the command names does not exist (or is not the sender's to know of)."""


class Forbidden(DomainError):
    """The sender is known but may not do this."""


class Conflict(DomainError):
    """The command contradicts what has already happened."""


class Gone(DomainError):
    """What the command names existed and is no longer there (an expired link)."""


class Unauthenticated(DomainError):
    """The sender did not say who they are, or not in a way that holds."""


class ServiceUnavailable(DomainError):
    """A dependency (Kafka, PostgreSQL) cannot be reached in time: try again shortly.

    Nothing was changed; the answer asks to retry after `retry_after` seconds.
    """

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after
