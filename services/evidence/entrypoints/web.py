"""What the evidence service's routers share: the wiring they are given, who wants a page,
the pages themselves, and how a refusal is told (a page beside the learner's work, JSON to
API clients).

A link that signs a browser in (a claim link's quest start, an emailed sign-in link) opens a
page with a button: only the POST behind it sets the session, so no other site can sign a
browser into someone else's quest. Forms post to this service's own addresses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from contracts.tokens import ClaimTokens
from services.evidence.adapters import read_models
from services.evidence.adapters.files import EvidenceFiles
from services.evidence.domain.quests import LinkExpired, Quest
from services.evidence.entrypoints.sessions import Sessions
from services.kernel.errors import DomainError, Forbidden, NotFound, Unauthenticated
from services.kernel.runtime import ServiceRuntime
from services.kernel.web.answers import error_answer
from services.kernel.web.negotiation import wants_html
from services.kernel.web.refusals import status_of

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True)
class EvidenceWeb:
    """What the routes work with, wired once by the composition root."""

    runtime: ServiceRuntime
    public_url: str
    badge_public_url: str
    files: EvidenceFiles
    tokens: ClaimTokens
    sessions: Sessions
    # The public catalogue's address (the activity service), for playlist and activity links.
    activity_public_url: str = "http://127.0.0.1:8001"
    invitations_per_sender: int = 20
    invitations_per_address: int = 2


def _web(request: Request) -> EvidenceWeb:
    web: EvidenceWeb = request.app.state.evidence
    return web


Web = Annotated[EvidenceWeb, Depends(_web)]


def wants_page(request: Request) -> bool:
    """Learners' and reviewers' addresses are pages: JSON only to those who ask for it."""
    return wants_html(request.headers, page_by_default=True)


MEANINGS = {
    200: "The page (HTML), or JSON to `Accept: application/json`",
    201: "Recorded",
    202: "Accepted: an email follows if there is anything to send",
    303: "Done: on to the page it leads to",
    400: "What was sent does not fit (the message says why)",
    401: "Not signed in: the page offers a sign-in link",
    403: "Not yours",
    404: "No such link, quest, submission or file",
    409: "Not possible in the current state",
    410: "The link has expired",
    413: "The upload is too large",
    422: "A field is missing or invalid",
    503: "Not possible just now (Kafka unreachable, or a link's badge still on its way here): "
    "try again after `Retry-After` seconds",
}


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """What a route can answer, for the OpenAPI document: pages to browsers, JSON to the rest."""
    content = {"text/html": {"schema": {"type": "string"}}, "application/json": {"schema": {}}}
    return {
        status: {"description": MEANINGS[status], **({} if status == 303 else {"content": content})}
        for status in statuses
    }


def page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def message(
    request: Request,
    heading: str,
    text: str,
    *,
    tone: Literal["success", "error"],
    status_code: int = 200,
    back: tuple[str, str] | None = None,
) -> Response:
    context = {"heading": heading, "message": text, "tone": tone, "back": back}
    return page(request, "message.html", context, status_code)


def sign_in_page(
    request: Request, notice: str = "", email: str = "", status_code: int = 200
) -> Response:
    return page(
        request, "sign_in.html", {"notice": notice, "email": email}, status_code=status_code
    )


HEADINGS = {
    400: "Please check what you sent",
    403: "Not yours to see",
    404: "Not found",
    409: "Not possible now",
    422: "Please check what you sent",
}


def _back_link(path: str, status_code: int) -> tuple[str, str]:
    """Where an error page leads back to: the quest it came from (when there is one to go
    back to), else the sign-in page."""
    parts = path.strip("/").split("/")
    if parts[0] == "home":
        return "/home", "Back to your badges"
    quest_page = len(parts) >= 2 and parts[0] == "quests" and parts[1] != "start"
    if quest_page and status_code not in (403, 404):
        return f"/quests/{parts[1]}", "Back to your quest"
    return "/sign-in", "Go to the sign-in page"


def install_refusals(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> Response:
        status = status_of(error)
        if request.url.path.startswith("/v1/"):
            # The organisers' API: JSON, or the kernel's page to a browser (not the learners').
            return error_answer(request.headers, status, error.message, service="evidence")
        if not wants_page(request):
            return JSONResponse({"error": error.message}, status_code=status)
        if isinstance(error, Unauthenticated | LinkExpired):
            if request.url.path.startswith(("/home", "/sign-in/address/")):
                notice = "Sign in to see your badges: we email you a link that signs you in."
                if isinstance(error, LinkExpired):
                    notice = error.message
                return page(request, "home_sign_in.html", {"notice": notice, "email": ""}, status)
            return sign_in_page(request, error.message, status_code=status)
        return message(
            request,
            HEADINGS.get(status, "Not possible"),
            error.message[:1].upper() + error.message[1:],
            tone="error",
            status_code=status,
            back=_back_link(request.url.path, status),
        )


def learner(web: EvidenceWeb, request: Request) -> str:
    """The signed-in learner's address (the one proved last); refused (with the sign-in form)
    when there is none."""
    return learners(web, request)[0]


def learners(web: EvidenceWeb, request: Request) -> tuple[str, ...]:
    """Every address the signed-in learner proved on this browser; refused when none."""
    found = web.sessions.learners(request)
    if not found:
        raise Unauthenticated("Sign in to see your quest: we email you a link that signs you in.")
    return found


async def owned_quest(web: EvidenceWeb, request: Request, quest_id: uuid.UUID) -> Quest:
    emails = learners(web, request)
    async with web.runtime.pool.acquire() as conn:
        quest = await read_models.quest(conn, quest_id)
    if quest is None:
        raise NotFound("There is no such quest. Sign in to see yours.")
    if quest.learner_email not in emails:
        raise Forbidden(
            "This quest belongs to someone else. Open your own from your email, or sign in "
            "with your address."
        )
    return quest
