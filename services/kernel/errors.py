"""Refusals the domain can give. Each carries the HTTP status an entrypoint answers with."""

from __future__ import annotations


class DomainError(Exception):
    """A command that the domain refuses, with a message for the person who sent it."""

    status_code = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    status_code = 400


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Unauthenticated(DomainError):
    status_code = 401


class ServiceUnavailable(DomainError):
    """A dependency (Kafka, PostgreSQL) cannot be reached in time: try again shortly.

    Nothing was changed; the answer is 503 with `Retry-After: retry_after` seconds.
    """

    status_code = 503

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after
