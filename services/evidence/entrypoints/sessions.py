"""Learners' sessions: a signed cookie naming their email address.

Signed under a ring of secrets: the first signs new sessions, every one is accepted, so the
session secret can be rotated without signing anyone out. `Secure` when the service's public
address is https, `HttpOnly` and `SameSite=Lax` always."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "quest_session"
DAYS = 30


class Sessions:
    def __init__(self, secrets: Sequence[str], *, secure: bool) -> None:
        # itsdangerous signs with the last key of its list and accepts them all.
        self._serializer = URLSafeTimedSerializer(list(reversed(secrets)), salt="quest-session")
        self._secure = secure

    def sign_in(self, response: Response, email: str) -> Response:
        response.set_cookie(
            COOKIE,
            self._serializer.dumps({"email": email}),
            max_age=DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=self._secure,
        )
        return response

    def learner(self, request: Request) -> str | None:
        """The signed-in learner's address, or None."""
        try:
            data = self._serializer.loads(request.cookies.get(COOKIE, ""), max_age=DAYS * 86400)
        except BadSignature:
            return None
        return str(data["email"])

    @staticmethod
    def present(request: Request) -> bool:
        return bool(request.cookies.get(COOKIE))
