"""The one table from a domain refusal to the HTTP status it is answered with.

Domain errors (services/kernel/errors.py) say what went wrong in the domain's words; only the
web layer knows what that means in HTTP. A refusal of a kind not in the table answers as its
nearest kind that is (a service's own `Conflict` subclass answers 409).
"""

from __future__ import annotations

from services.kernel.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
)

STATUS_OF: dict[type[DomainError], int] = {
    BadRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    Invalid: 422,
    ServiceUnavailable: 503,
    DomainError: 409,
}


def status_of(error: DomainError) -> int:
    """The status `error` is answered with: that of its nearest kind in STATUS_OF.

    A refusal class may still name its own `status_code` (a test's stand-in, a plug-in's
    refusal); the services' own do not (tests/unit/test_kernel_refusals.py holds them to it).
    """
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
        declared = vars(kind).get("status_code")
        if isinstance(declared, int):
            return declared
    return STATUS_OF[DomainError]


def retry_after_of(error: DomainError) -> int | None:
    """Seconds a client should wait before trying again (the Retry-After header), if any."""
    return error.retry_after if isinstance(error, ServiceUnavailable) else None
