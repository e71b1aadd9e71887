"""The learner's pages: claim links (personal and open), and the page of an awarded badge.

Server-rendered and small; every page also answers JSON to clients that ask for it.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from email_validator import EmailNotValidError
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from contracts.tokens import OpenToken, PersonalToken
from services.badge import service_layer
from services.badge.adapters import read_models
from services.badge.domain.model import (
    BadgeClass,
    OpenLinkRefused,
    check_open_link,
    check_open_link_room,
    claim_refusal,
)
from services.badge.entrypoints.credentials import credential_links
from services.badge.entrypoints.dependencies import BadgeWeb, Web, load_badge_class
from services.badge.entrypoints.endorsements import endorsements_shown
from services.badge.entrypoints.open_badges import OpenBadgesUrls
from services.badge.entrypoints.recipients import valid_address
from services.badge.entrypoints.rendering import message, page, parse_id, wants_html
from services.kernel import rate_limits
from services.kernel.errors import DomainError
from services.kernel.web.refusals import status_of

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
        "This badge has been claimed as many times as the organiser allowed, so no more can be "
        "given through this link. Ask the organiser if you think you should have one.",
    ),
    "earned_only": (
        409,
        "Earned, not claimed",
        "This is a playlist's badge: it is awarded by itself to whoever holds the badges of all "
        "the playlist's activities, and cannot be claimed through a link.",
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


router = APIRouter(tags=["learners"])


def _quest_link(web: BadgeWeb, token: str) -> str:
    return f"{web.evidence_public_url.rstrip('/')}/quests/start/{token}"


async def _badge_context(web: BadgeWeb, badge: BadgeClass) -> dict[str, Any]:
    async with web.runtime.pool.acquire() as conn:
        issuer = await read_models.issuer_name(conn, badge.issuer_id)
    return {
        "badge": badge,
        "issuer_name": issuer,
        "image_url": web.urls.badge_image(badge.badge_class_id),
    }


def _evidence_required(request: Request, web: BadgeWeb, token: str, **context: Any) -> Response:
    """The badge is earned on a quest: the personal link leads there."""
    status, heading, text = REJECTIONS["evidence_required"]
    return message(
        request,
        status,
        heading,
        text,
        problem=False,
        link=_quest_link(web, token),
        link_text="Start the quest",
        status_name="evidence_required",
        quest_url=_quest_link(web, token),
        **context,
    )


def _rejection(request: Request, reason: str, **context: Any) -> Response:
    status, heading, text = REJECTIONS.get(reason, REJECTIONS["revoked"])
    return message(request, status, heading, text, status_name=reason, **context)


def _invalid_link(request: Request) -> Response:
    return message(
        request,
        404,
        "Link not valid",
        "This claim link is not valid. Check that you opened the whole link from the email.",
    )


@router.get("/claim/{token}", response_class=HTMLResponse)
async def open_claim_link(token: str, request: Request, web: Web) -> Response:
    named = web.tokens.read(token)
    if isinstance(named, PersonalToken):
        async with web.runtime.pool.acquire() as conn:
            offer = await read_models.get_offer(conn, named.offer_id)
        badge = await load_badge_class(web, offer.badge_class_id) if offer else None
        if offer is None or badge is None:
            return _invalid_link(request)
        context = await _badge_context(web, badge)
        if offer.assertion_id is not None:
            return message(
                request,
                409,
                "Already claimed",
                "This badge has already been claimed with this link.",
                link=web.urls.badge_page(offer.assertion_id),
                link_text="See the badge",
                **context,
            )
        async with web.runtime.pool.acquire() as conn:
            held = await read_models.holds_badge(conn, badge.badge_class_id, offer.recipient_email)
        # The same rules the claim is decided by: Accept is shown only where it works.
        refusal = claim_refusal(badge, offer, datetime.now(UTC), held)
        if refusal == "evidence_required":
            return _evidence_required(request, web, token, **context)
        if refusal is not None:
            return _rejection(request, refusal, **context)
        return page(
            request,
            "claim.html",
            action=f"/claim/{token}",
            email=offer.recipient_email,
            status_name="claimable",
            **context,
        )
    if isinstance(named, OpenToken):
        badge = await load_badge_class(web, named.badge_class_id)
        if badge is None:
            return _invalid_link(request)
        context = await _badge_context(web, badge)
        now = datetime.now(UTC)
        try:
            check_open_link(badge, named.generation, now)
            async with web.runtime.pool.acquire() as conn:
                taken = await read_models.open_link_taken(conn, badge, now)
            check_open_link_room(badge, taken)
        except OpenLinkRefused as refusal:
            return _rejection(request, refusal.reason, **context)
        return page(
            request,
            "open_link.html",
            action=f"/claim/{token}",
            status_name="ask_email",
            **context,
        )
    return _invalid_link(request)


@router.post("/claim/{token}", response_class=HTMLResponse, responses=rate_limits.RESPONSES)
async def use_claim_link(
    token: str,
    request: Request,
    web: Web,
    email: str | None = Form(default=None, max_length=320),
) -> Response:
    named = web.tokens.read(token)
    if isinstance(named, PersonalToken):
        try:
            outcome = await service_layer.accept_offer(web.runtime, named.offer_id)
        except DomainError:
            return _invalid_link(request)
        if outcome.outcome == "awarded" and outcome.assertion_id is not None:
            if wants_html(request):
                return RedirectResponse(web.urls.badge_page(outcome.assertion_id), status_code=303)
            return JSONResponse(
                {
                    "status_name": "awarded",
                    "assertion_id": str(outcome.assertion_id),
                    "assertion_url": web.urls.assertion(outcome.assertion_id),
                    "badge_page": web.urls.badge_page(outcome.assertion_id),
                }
            )
        if outcome.reason == "evidence_required":
            return _evidence_required(request, web, token)
        return _rejection(request, outcome.reason or "revoked")
    if isinstance(named, OpenToken):
        try:
            address = valid_address(email or "")
        except EmailNotValidError as error:
            return message(
                request,
                422,
                "Check the email address",
                f"That address is not valid: {error}",
                status_name="invalid_email",
            )
        link = f"open:{named.badge_class_id}:{named.generation}"
        limited = await rate_limits.refusal(request, address=address, link=link)
        if limited is not None:
            return limited
        try:
            await service_layer.offer_by_open_link(
                web.runtime, named.badge_class_id, named.generation, address
            )
        except OpenLinkRefused as refusal:
            # Refused before anything is mailed: the learner learns it now, not later.
            return _rejection(request, refusal.reason)
        except DomainError as refusal:
            return message(
                request,
                status_of(refusal),
                "Not possible",
                refusal.message,
                status_name="refused",
            )
        # The same answer whether or not the address holds the badge already; the email
        # says which.
        return message(
            request,
            202,
            "Check your inbox",
            f"We sent an email to {address}. Open the link in it to get your badge.",
            problem=False,
            status_name="email_sent",
        )
    return _invalid_link(request)


LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


def linkedin_url(
    name: str,
    organisation: str,
    issued_on: datetime,
    page_url: str,
    cert_id: str,
    expires: datetime | None = None,
) -> str:
    """LinkedIn's documented "Add to profile" address for a certification."""
    fields: dict[str, str | int] = {
        "startTask": "CERTIFICATION_NAME",
        "name": name,
        "organizationName": organisation,
        "issueYear": issued_on.year,
        "issueMonth": issued_on.month,
        "certUrl": page_url,
        "certId": cert_id,
    }
    if expires is not None:
        fields |= {"expirationYear": expires.year, "expirationMonth": expires.month}
    return f"{LINKEDIN_ADD}?{urlencode(fields)}"


def sharing(
    urls: OpenBadgesUrls, found: dict[str, Any], badge: BadgeClass, issuer: str, holder: str
) -> dict[str, Any]:
    """What a shared badge page carries: the preview tags of chats and social networks (Open
    Graph, Twitter card) with absolute addresses, LinkedIn's add-to-profile link and an embed
    snippet. A revoked badge is shared as revoked and offers no LinkedIn link."""
    page_url = urls.badge_page(found["assertion_id"])
    image = urls.badge_image(badge.badge_class_id)
    title = f"{badge.name}, awarded to {holder} by {issuer}" if issuer else badge.name
    description = " ".join((badge.description or badge.criteria_narrative).split())[:300]
    if found["revoked"]:
        title = f"{badge.name} (revoked)"
    embed = (
        f'<a href="{html.escape(page_url)}"><img src="{html.escape(image)}" width="120" '
        f'height="120" alt="{html.escape(badge.name)}, a badge from {html.escape(issuer)}"></a>'
    )
    return {
        "page_url": page_url,
        "share_title": title,
        "share_description": description or badge.name,
        "share_image": image,
        "linkedin_url": None
        if found["revoked"]
        else linkedin_url(
            badge.name,
            issuer,
            found["issued_on"],
            page_url,
            str(found["assertion_id"]),
            found["expires"],
        ),
        "embed_snippet": embed,
    }


SHARE_SCRIPT = """// Copies a shared badge's address; without JavaScript it is copied by hand.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var field = document.getElementById(button.getAttribute("data-copy"));
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done); }
    else { document.execCommand("copy"); done(); }
  });
});
"""


@router.get("/assets/share.js", include_in_schema=False)
async def share_script() -> Response:
    return Response(
        SHARE_SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/badges/{assertion_id}", response_class=HTMLResponse)
async def badge_page(assertion_id: str, request: Request, web: Web) -> Response:
    """The page of an awarded badge: who issued it, when, and the baked badge to keep."""
    urls = web.urls
    found_id = parse_id(assertion_id)
    found = None
    if found_id is not None:
        async with web.runtime.pool.acquire() as conn:
            found = await read_models.get_assertion_row(conn, found_id)
    badge = await load_badge_class(web, found["badge_class_id"]) if found else None
    if found is None or badge is None:
        return message(
            request,
            404,
            "Badge not found",
            # The learner's quest page links here as soon as the evidence service reads the
            # award from Kafka, which can be a moment before this service's own transaction
            # with the award's row commits.
            "There is no badge at this address. Check that you copied the whole link. "
            "A badge awarded a moment ago can take a few seconds to appear: reload the page.",
            status_name="not_found",
        )
    expires = found["expires"]
    context = await _badge_context(web, badge)
    return page(
        request,
        "assertion.html",
        **context,
        **sharing(
            urls,
            found,
            badge,
            context["issuer_name"] or "",
            found["display_name"] or _mask(found["recipient_email"]),
        ),
        status_name="revoked" if found["revoked"] else "valid",
        revoked=found["revoked"],
        revocation_reason=found["revocation_reason"],
        expired=bool(expires and datetime.now(UTC) > expires),
        expires=expires.date().isoformat() if expires else None,
        issued_on=found["issued_on"].date().isoformat(),
        masked_email=_mask(found["recipient_email"]),
        holder=found["display_name"] or _mask(found["recipient_email"]),
        baked_url=None if found["revoked"] else urls.baked(found_id),
        assertion_url=urls.assertion(found_id),
        **await credential_links(web, found["assertion_id"], revoked=found["revoked"]),
        endorsements=await endorsements_shown(web, badge.badge_class_id),
    )
