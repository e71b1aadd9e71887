"""The learner's home: signing in with an address (a one-time link by email), signing out, my
badges (every award to the proved addresses, with its state, evidence, downloads and what its
public page says of the holder), quests in progress, playlist progress, and inviting people to
a playlist.

The same session as the quests: a quest's sign-in link and the home's both prove an address,
and a browser may prove several. Nothing here is reachable for an address not proved on this
browser: there is no page or API that takes an address to list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from services.evidence import service_layer
from services.evidence.adapters import read_models
from services.evidence.domain.addresses import normalise_email
from services.evidence.domain.home import (
    Award,
    Inviter,
    Progress,
    decide_invitation,
    download_formats,
)
from services.evidence.domain.quests import LinkExpired
from services.evidence.entrypoints.web import (
    EvidenceWeb,
    Web,
    answers,
    learners,
    message,
    page,
    wants_page,
)
from services.kernel import rate_limits
from services.kernel.errors import BadRequest, Invalid, NotFound
from services.kernel.web.negotiation import wants_html
from services.kernel.web.security_headers import content_security_policy

router = APIRouter(tags=["learners"])

STATE_TEXT = {"valid": "Valid", "expired": "Expired", "revoked": "Revoked"}
DAY = 86_400


def valid_email(email: str) -> str:
    return normalise_email(validate_email(email.strip(), check_deliverability=False).normalized)


def _policy(web: EvidenceWeb) -> str:
    """The service's policy, with the badge service's images allowed (the badges shown)."""
    own = content_security_policy([web.public_url])
    return own.replace("img-src ", f"img-src {web.badge_public_url.rstrip('/')} ", 1)


def home_page(
    request: Request, web: EvidenceWeb, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    answer = page(request, template, context, status)
    answer.headers["Content-Security-Policy"] = _policy(web)
    return answer


def home_sign_in_page(
    request: Request, notice: str = "", email: str = "", status_code: int = 200
) -> Response:
    return page(
        request, "home_sign_in.html", {"notice": notice, "email": email}, status_code=status_code
    )


# -- signing in and out ----------------------------------------------------------------------


@router.get("/home/sign-in", responses=answers(200))
async def home_sign_in_form(request: Request) -> Response:
    """Ask for a link that signs you in to your badges (and quests) on this device."""
    if not wants_page(request):
        return JSONResponse({"sign_in": "POST an email field to this address"})
    return home_sign_in_page(request)


@router.post(
    "/home/sign-in",
    status_code=202,
    responses={**answers(202, 400, 422, 503), **rate_limits.RESPONSES},
)
async def home_sign_in(
    request: Request, web: Web, email: str = Form(default="", max_length=320)
) -> Response:
    """A link to the address that proves it: the same answer, and the same email, whatever
    the address holds."""
    try:
        address = valid_email(email)
    except EmailNotValidError as error:
        problem = f"That email address is not valid: {error}"
        if not wants_page(request):
            raise BadRequest(problem) from error
        return home_sign_in_page(request, problem, email, status_code=400)
    if (limited := await rate_limits.refusal(request, address=address)) is not None:
        return limited
    await service_layer.request_address_sign_in(web.runtime, address)
    said = f"We are emailing a sign-in link to {address}. Open it on this device or any other."
    if not wants_page(request):
        return JSONResponse({"message": said}, status_code=202)
    return message(request, "Check your inbox", said, tone="success", status_code=202)


def _address_link(web: EvidenceWeb, token: str, email: str | None) -> str:
    address = normalise_email(email or "")
    expires = web.tokens.read_address_sign_in(token, address) if address else None
    if expires is None:
        raise NotFound(
            "This sign-in link is not valid. Open the whole link from your email, or ask "
            "for a new one."
        )
    if datetime.now(UTC) >= expires:
        raise LinkExpired("This sign-in link has expired. Ask for a new one here.")
    return address


@router.get("/sign-in/address/{token}", responses=answers(200, 404, 410))
async def address_link_page(
    token: str, request: Request, web: Web, email: str | None = None
) -> Response:
    """An emailed home sign-in link: a page whose button signs this browser in."""
    try:
        address = _address_link(web, token, email)
    except LinkExpired as expired:
        if not wants_page(request):
            raise
        return home_sign_in_page(request, expired.message, email or "", status_code=410)
    if not wants_page(request):
        return JSONResponse({"email": address, "sign_in": "POST this address to sign in"})
    return page(
        request,
        "continue.html",
        {
            "title": "Sign in to your badges",
            "text": f"Sign in as {address} on this device to see your badges and quests.",
            "action": f"/sign-in/address/{token}?{urlencode({'email': address})}",
            "button": "Sign in",
        },
    )


@router.post("/sign-in/address/{token}", responses=answers(200, 303, 404, 410))
async def address_signed_in(
    token: str, request: Request, web: Web, email: str | None = None
) -> Response:
    address = _address_link(web, token, email)
    response: Response = (
        RedirectResponse("/home", status_code=303)
        if wants_page(request)
        else JSONResponse({"home_url": f"{web.public_url}/home", "email": address})
    )
    return web.sessions.sign_in(response, address, request)


@router.post("/sign-out", responses=answers(200, 303))
async def sign_out(request: Request, web: Web) -> Response:
    """Forgets every address proved on this browser."""
    response: Response = (
        message(
            request,
            "Signed out",
            "You are signed out on this device.",
            tone="success",
            back=("/home/sign-in", "Sign in again"),
        )
        if wants_page(request)
        else JSONResponse({"signed_out": True})
    )
    return web.sessions.sign_out(response)


# -- my badges -------------------------------------------------------------------------------


def _award_view(web: EvidenceWeb, award: Award, now: datetime) -> dict[str, Any]:
    badges = web.badge_public_url.rstrip("/")
    state = award.state(now)
    assertion = f"{badges}/ob/assertions/{award.assertion_id}"
    return {
        "assertion_id": str(award.assertion_id),
        "badge_name": award.badge_name,
        "issuer_name": award.issuer_name,
        "recipient_email": award.recipient_email,
        "issued_on": award.issued_on.date().isoformat(),
        "expires": award.expires.date().isoformat() if award.expires else None,
        "state": state,
        "state_text": STATE_TEXT[state],
        "revocation_reason": award.revocation_reason,
        "evidence": [item.model_dump() for item in award.evidence],
        "image_url": f"{badges}/ob/badge-classes/{award.badge_class_id}/image",
        "assertion_url": assertion,
        "badge_page": f"{badges}/badges/{award.assertion_id}",
        "downloads": [
            {"format": kind.upper(), "url": f"{assertion}/baked?format={kind}"}
            for kind in download_formats(award)
        ],
        "display_name": award.display_name,
    }


def _quest_view(quest: dict[str, Any]) -> dict[str, Any]:
    left = quest["tasks"] - quest["approved"] - quest["waiting"]
    return {
        "quest_id": str(quest["quest_id"]),
        "badge_name": quest["badge_name"],
        "tasks": quest["tasks"],
        "approved": quest["approved"],
        "waiting": quest["waiting"],
        "to_do": left,
    }


@router.get("/home", responses=answers(200, 401))
async def home(request: Request, web: Web) -> Response:
    """My badges: every badge awarded to the addresses proved on this browser, newest first,
    and the quests under way."""
    proved = web.sessions.learners(request)
    if not proved:
        if not wants_page(request):
            learners(web, request)  # refused: 401 with what to do
        return home_sign_in_page(request)
    now = datetime.now(UTC)
    async with web.runtime.pool.acquire() as conn:
        awards = await read_models.awards_of(conn, proved)
        quests = await read_models.quests_in_progress(conn, proved)
    view = {
        "addresses": proved,
        "awards": [_award_view(web, award, now) for award in awards],
        "quests": [_quest_view(quest) for quest in quests],
    }
    if not wants_page(request):
        return JSONResponse(view)
    return home_page(request, web, "home.html", view)


@router.post("/home/badges/{assertion_id}/name", responses=answers(200, 303, 401, 404, 422))
async def choose_name(
    assertion_id: uuid.UUID,
    request: Request,
    web: Web,
    show_name: str = Form(default="no", max_length=3),
    name: str = Form(default="", max_length=200),
) -> Response:
    """Whether the badge's public page shows the holder's name (as typed) or the masked
    address (the default)."""
    proved = learners(web, request)
    if show_name not in ("yes", "no"):
        raise Invalid("show_name is yes or no")
    await service_layer.choose_recipient_name(
        web.runtime, assertion_id, proved, show_name == "yes", name
    )
    if not wants_page(request):
        return JSONResponse({"assertion_id": str(assertion_id), "show_name": show_name == "yes"})
    return RedirectResponse(f"/home#badge-{assertion_id}", status_code=303)


# -- playlists -------------------------------------------------------------------------------


def _progress_view(web: EvidenceWeb, made: Progress) -> dict[str, Any]:
    catalogue = web.activity_public_url.rstrip("/")
    badges = web.badge_public_url.rstrip("/")
    playlist = made.playlist
    award = made.playlist_award
    return {
        "playlist_id": str(playlist.playlist_id),
        "name": playlist.name,
        "issuer_name": playlist.issuer_name,
        "earned": made.earned,
        "total": made.total,
        "catalogue_url": f"{catalogue}/catalogue/playlists/{playlist.playlist_id}",
        "steps": [
            {
                "name": step.name,
                "earned": step.earned is not None,
                "next": step.is_next,
                "catalogue_url": f"{catalogue}/catalogue/activities/{step.activity_id}",
                "badge_page": (
                    f"{badges}/badges/{step.earned.assertion_id}" if step.earned else None
                ),
            }
            for step in made.steps
        ],
        "next": made.next_step.name if made.next_step else None,
        "playlist_badge": (
            {
                "name": award.badge_name,
                "badge_page": f"{badges}/badges/{award.assertion_id}",
                "image_url": f"{badges}/ob/badge-classes/{award.badge_class_id}/image",
            }
            if award
            else None
        ),
    }


@router.get("/home/playlists", responses=answers(200, 401))
async def my_playlists(request: Request, web: Web) -> Response:
    """The published playlists the learner started (holds one of their activities' badges)."""
    proved = learners(web, request)
    async with web.runtime.pool.acquire() as conn:
        made = await service_layer.learner_progress(conn, proved)
    view = {"playlists": [_progress_view(web, p) for p in made]}
    if not wants_page(request):
        return JSONResponse(view)
    return home_page(request, web, "playlists.html", view)


async def _one_playlist(web: EvidenceWeb, proved: tuple[str, ...], playlist_id: uuid.UUID) -> Any:
    async with web.runtime.pool.acquire() as conn:
        found = await service_layer.learner_progress(conn, proved, playlist_id)
    if not found or not found[0].started:
        raise NotFound(
            "This playlist is not among yours: it shows here once you hold one of its badges."
        )
    return found[0]


@router.get("/home/playlists/{playlist_id}", responses=answers(200, 401, 404, 422))
async def my_playlist(playlist_id: uuid.UUID, request: Request, web: Web) -> Response:
    """The activities of a playlist in order, each earned or not, what is next, and the
    playlist's badge once earned."""
    proved = learners(web, request)
    view = _progress_view(web, await _one_playlist(web, proved, playlist_id))
    if not wants_page(request):
        return JSONResponse(view)
    return home_page(request, web, "playlist.html", {**view, "error": "", "sent": ""})


def _addresses(text: str) -> list[str]:
    """The addresses typed (one a line, or separated by commas or spaces), each checked."""
    found, wrong = [], []
    for part in text.replace(",", " ").split():
        try:
            found.append(valid_email(part))
        except EmailNotValidError:
            wrong.append(part)
    if wrong:
        raise Invalid("These are not email addresses: " + ", ".join(wrong[:5]))
    return found


async def invitation_refusal(
    request: Request, web: EvidenceWeb, sender: str, invitees: list[str]
) -> Response | None:
    """The kernel's rate limits for invitations: per sender, and per invited address (so
    nobody can be flooded with invitations, whoever sends them). Over one, a 429 that says
    which (a page, or JSON to API clients) and when to try again; nothing is counted then."""
    state = request.app.state
    limiter: rate_limits.RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        limiter = state.rate_limiter = rate_limits.RateLimiter(
            web.runtime.pool, rate_limits.RateLimitSettings()
        )
    own = rate_limits.Limit(f"invitations-from:{sender}", web.invitations_per_sender, DAY)
    theirs = {
        address: rate_limits.Limit(
            f"invitations-to:{rate_limits.address_key(address)}", web.invitations_per_address, DAY
        )
        for address in invitees
    }
    limits = [limit for limit in (own, *theirs.values()) if limit.max_hits > 0]
    wait = await limiter.take(limits)
    if not wait:
        return None
    async with web.runtime.pool.acquire() as conn:
        full = set(
            await conn.fetchval(
                "SELECT coalesce(array_agg(r.key), '{}') FROM rate_limit_windows r "
                "JOIN unnest($1::text[], $2::integer[]) AS t(k, l) ON r.key = t.k "
                "WHERE r.hits >= t.l "
                "AND r.window_start + make_interval(secs => r.window_seconds) > clock_timestamp()",
                [limit.key for limit in limits],
                [limit.max_hits for limit in limits],
            )
        )
    until = datetime.now(UTC) + timedelta(seconds=wait)
    over = [a for a, limit in theirs.items() if limit.key in full and limit.max_hits > 0]
    if own.key in full and own.max_hits > 0 and not over:
        said = (
            f"You have sent as many invitations as you may in a day ({own.max_hits}). "
            f"Try again after {until:%H:%M} UTC on {until:%d %B}; nothing was sent this time."
        )
    else:
        said = (
            f"{', '.join(over) or 'Someone you named'} has been invited as often as we allow in "
            f"a day. Leave them out, or try again after {until:%H:%M} UTC on {until:%d %B}; "
            "nothing was sent this time."
        )
    headers = {"Retry-After": str(wait), "Cache-Control": "no-store"}
    api = request.url.path.startswith("/v1/")
    if (api and not wants_html(request.headers)) or (not api and not wants_page(request)):
        body = {"error": said, "retry_after_seconds": wait, "retry_at": until.isoformat()}
        return JSONResponse(body, status_code=429, headers=headers)
    answer = message(request, "Please wait", said, tone="error", status_code=429)
    answer.headers.update(headers)
    return answer


@router.post(
    "/home/playlists/{playlist_id}/invitations",
    responses={**answers(200, 303, 401, 403, 404, 422), **rate_limits.RESPONSES},
)
async def invite(
    playlist_id: uuid.UUID,
    request: Request,
    web: Web,
    emails: str = Form(default="", max_length=10_000),
    note: str = Form(default="", max_length=2_000),
) -> Response:
    """A learner who follows the playlist invites people to it by email."""
    proved = learners(web, request)
    made = await _one_playlist(web, proved, playlist_id)
    try:
        invitees = _addresses(emails)
        if not invitees:
            raise Invalid("Give at least one email address to invite.")
    except Invalid as error:
        if not wants_page(request):
            raise
        view = {**_progress_view(web, made), "error": error.message, "sent": ""}
        return home_page(request, web, "playlist.html", view, status=422)
    # Refused before anything is counted against the limits: the same rules decide it again.
    decide_invitation(
        uuid.uuid4(), made.playlist, Inviter("learner", proved[0], follows=True), invitees, note
    )
    if (limited := await invitation_refusal(request, web, proved[0], invitees)) is not None:
        return limited
    sent = await service_layer.invite_to_playlist(
        web.runtime, playlist_id, Inviter("learner", proved[0]), invitees, note, proved
    )
    said = f"Invitation sent to {', '.join(sent.invitees)}."
    if not wants_page(request):
        return JSONResponse({"invitation_id": str(sent.invitation_id), "invited": sent.invitees})
    view = {**_progress_view(web, made), "error": "", "sent": said}
    return home_page(request, web, "playlist.html", view)
