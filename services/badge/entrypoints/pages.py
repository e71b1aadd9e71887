"""The learner's pages: claim links (personal and open), and the page of an awarded badge.

Server-rendered and small; every page also answers JSON to clients that ask for it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.badge import service_layer
from services.badge.adapters import read_models
from services.badge.domain.model import BadgeClass, check_open_link
from services.badge.entrypoints.http import wants_html
from services.badge.entrypoints.open_badges import OpenBadgesUrls
from services.kernel import rate_limits
from services.kernel.claim_tokens import ClaimTokens, OpenToken, PersonalToken
from services.kernel.errors import DomainError
from services.kernel.runtime import ServiceRuntime

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")

REJECTIONS = {
    "already_claimed": (
        409,
        "Already claimed",
        "This badge has already been claimed with this link.",
    ),
    "expired": (
        410,
        "Link expired",
        "This claim link has expired. Ask the organiser for a new one.",
    ),
    "revoked": (
        410,
        "Link withdrawn",
        "This link no longer works. Ask the organiser for a new one.",
    ),
    "limit_reached": (
        410,
        "No badges left",
        "This badge has been claimed as many times as the organiser allowed.",
    ),
    "evidence_required": (
        200,
        "Evidence required",
        "This badge is awarded for evidence of what you did: start the quest, show your work "
        "for each task, and the badge is yours once it is approved.",
    ),
}


def _mask(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}{'•' * max(len(name) - 1, 2)}@{domain}"


def add_pages(
    app: FastAPI,
    runtime: ServiceRuntime,
    urls: OpenBadgesUrls,
    tokens: ClaimTokens,
    evidence_public_url: str,
) -> None:
    def quest_link(token: str) -> str:
        return f"{evidence_public_url.rstrip('/')}/quests/start/{token}"

    async def badge_context(badge: BadgeClass) -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            issuer = await read_models.issuer_name(conn, badge.issuer_id)
        return {
            "badge": badge,
            "issuer_name": issuer,
            "image_url": urls.badge_image(badge.badge_class_id),
        }

    def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
        if not wants_html(request):
            data = {
                key: value
                for key, value in context.items()
                if isinstance(value, str | int | bool | None) and key not in ("action",)
            }
            if "badge" in context:
                data["badge_name"] = context["badge"].name
            return JSONResponse(data, status_code=status)
        return TEMPLATES.TemplateResponse(request, template, context, status_code=status)

    def message(
        request: Request,
        status: int,
        heading: str,
        text: str,
        *,
        problem: bool = True,
        link: str | None = None,
        link_text: str = "",
        **context: Any,
    ) -> Response:
        context.setdefault("status_name", "problem" if problem else "ok")
        return page(
            request,
            "message.html",
            status,
            heading=heading,
            message=text,
            problem=problem,
            link=link,
            link_text=link_text,
            **context,
        )

    def evidence_required(request: Request, token: str, **context: Any) -> Response:
        """The badge is earned on a quest: the personal link leads there."""
        status, heading, text = REJECTIONS["evidence_required"]
        return message(
            request,
            status,
            heading,
            text,
            problem=False,
            link=quest_link(token),
            link_text="Start the quest",
            status_name="evidence_required",
            quest_url=quest_link(token),
            **context,
        )

    def invalid_link(request: Request) -> Response:
        return message(
            request,
            404,
            "Link not valid",
            "This claim link is not valid. Check that you opened the whole link from the email.",
        )

    async def load_badge(badge_class_id: uuid.UUID) -> BadgeClass | None:
        async with runtime.pool.acquire() as conn:
            return await read_models.get_badge_class(conn, badge_class_id)

    @app.get("/claim/{token}", response_class=HTMLResponse, tags=["learners"])
    async def open_claim_link(token: str, request: Request) -> Response:
        named = tokens.read(token)
        if isinstance(named, PersonalToken):
            async with runtime.pool.acquire() as conn:
                offer = await read_models.get_offer(conn, named.offer_id)
            badge = await load_badge(offer.badge_class_id) if offer else None
            if offer is None or badge is None:
                return invalid_link(request)
            context = await badge_context(badge)
            if offer.assertion_id is not None:
                return message(
                    request,
                    409,
                    "Already claimed",
                    "This badge has already been claimed with this link.",
                    link=urls.badge_page(offer.assertion_id),
                    link_text="See the badge",
                    **context,
                )
            if datetime.now(UTC) > offer.expires_at:
                status, heading, text = REJECTIONS["expired"]
                return message(request, status, heading, text, **context)
            if badge.evidence_mode != "none":
                return evidence_required(request, token, **context)
            return page(
                request,
                "claim.html",
                action=f"/claim/{token}",
                email=offer.recipient_email,
                status_name="claimable",
                **context,
            )
        if isinstance(named, OpenToken):
            badge = await load_badge(named.badge_class_id)
            if badge is None:
                return invalid_link(request)
            context = await badge_context(badge)
            try:
                check_open_link(badge, named.generation, datetime.now(UTC))
            except DomainError as refusal:
                return message(request, 410, "Link no longer works", refusal.message, **context)
            return page(
                request,
                "open_link.html",
                action=f"/claim/{token}",
                status_name="ask_email",
                **context,
            )
        return invalid_link(request)

    @app.post(
        "/claim/{token}",
        response_class=HTMLResponse,
        tags=["learners"],
        responses=rate_limits.RESPONSES,
    )
    async def use_claim_link(
        token: str, request: Request, email: str | None = Form(default=None, max_length=320)
    ) -> Response:
        named = tokens.read(token)
        if isinstance(named, PersonalToken):
            try:
                outcome = await service_layer.accept_offer(runtime, named.offer_id)
            except DomainError:
                return invalid_link(request)
            if outcome.outcome == "awarded" and outcome.assertion_id is not None:
                if wants_html(request):
                    return RedirectResponse(urls.badge_page(outcome.assertion_id), status_code=303)
                return JSONResponse(
                    {
                        "status_name": "awarded",
                        "assertion_id": str(outcome.assertion_id),
                        "assertion_url": urls.assertion(outcome.assertion_id),
                        "badge_page": urls.badge_page(outcome.assertion_id),
                    }
                )
            if outcome.reason == "evidence_required":
                return evidence_required(request, token)
            status, heading, text = REJECTIONS[outcome.reason or "revoked"]
            return message(request, status, heading, text, status_name=outcome.reason or "rejected")
        if isinstance(named, OpenToken):
            try:
                address = validate_email((email or "").strip(), check_deliverability=False)
            except EmailNotValidError as error:
                return message(
                    request, 422, "Check the email address", f"That address is not valid: {error}"
                )
            link = f"open:{named.badge_class_id}:{named.generation}"
            limited = await rate_limits.refusal(request, address=address.normalized, link=link)
            if limited is not None:
                return limited
            try:
                await service_layer.offer_by_open_link(
                    runtime, named.badge_class_id, named.generation, address.normalized
                )
            except DomainError as refusal:
                return message(
                    request,
                    refusal.status_code if refusal.status_code != 409 else 410,
                    "Not possible",
                    refusal.message,
                    status_name="refused",
                )
            return message(
                request,
                202,
                "Check your inbox",
                f"We sent a link to {address.normalized}. Open it to accept your badge.",
                problem=False,
                status_name="email_sent",
            )
        return invalid_link(request)

    @app.get("/badges/{assertion_id}", response_class=HTMLResponse, tags=["learners"])
    async def badge_page(assertion_id: uuid.UUID, request: Request) -> Response:
        async with runtime.pool.acquire() as conn:
            found = await read_models.get_assertion_row(conn, assertion_id)
        badge = await load_badge(found["badge_class_id"]) if found else None
        if found is None or badge is None:
            return message(request, 404, "Badge not found", "There is no badge at this address.")
        expires = found["expires"]
        return page(
            request,
            "assertion.html",
            **await badge_context(badge),
            status_name="revoked" if found["revoked"] else "valid",
            revoked=found["revoked"],
            revocation_reason=found["revocation_reason"],
            expired=bool(expires and datetime.now(UTC) > expires),
            expires=expires.date().isoformat() if expires else None,
            issued_on=found["issued_on"].date().isoformat(),
            masked_email=_mask(found["recipient_email"]),
            baked_url=urls.baked(assertion_id),
            assertion_url=urls.assertion(assertion_id),
        )
