"""Learners' sessions: a signed cookie naming the email addresses the learner has proved on
this browser, by an emailed link (a quest's, or the home's sign-in link) or a claim link.

One session serves the quests and the home alike. Proving another address adds it; signing
out forgets them all. Signed under a ring of secrets: the first signs new sessions, every one
is accepted, so the session secret can be rotated without signing anyone out. `Secure` when
the service's public address is https, `HttpOnly` and `SameSite=Lax` always."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "quest_session"
DAYS = 30
# Enough for anyone's addresses, and a cookie that stays well under browsers' 4 KiB.
MAX_ADDRESSES = 10


class Sessions:
    def __init__(self, secrets: Sequence[str], *, secure: bool) -> None:
        # itsdangerous signs with the last key of its list and accepts them all.
        self._serializer = URLSafeTimedSerializer(list(reversed(secrets)), salt="quest-session")
        self._secure = secure

    def sign_in(self, response: Response, email: str, request: Request | None = None) -> Response:
        """Signs `email` in; with the request, the addresses already proved here stay too."""
        earlier = [a for a in self.learners(request) if a != email] if request else []
        addresses = [email, *earlier][:MAX_ADDRESSES]
        response.set_cookie(
            COOKIE,
            self._serializer.dumps({"email": email, "emails": addresses}),
            max_age=DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=self._secure,
        )
        return response

    def sign_out(self, response: Response) -> Response:
        response.delete_cookie(COOKIE, httponly=True, samesite="lax", secure=self._secure)
        return response

    def learners(self, request: Request) -> tuple[str, ...]:
        """Every address proved on this browser, the last proved first; () when signed out.
        Sessions from before several addresses name one."""
        try:
            data = self._serializer.loads(request.cookies.get(COOKIE, ""), max_age=DAYS * 86400)
        except BadSignature:
            return ()
        found = data.get("emails") or [data["email"]]
        return tuple(str(address) for address in found)

    def learner(self, request: Request) -> str | None:
        """The address proved last, or None."""
        found = self.learners(request)
        return found[0] if found else None

    @staticmethod
    def present(request: Request) -> bool:
        return bool(request.cookies.get(COOKIE))
