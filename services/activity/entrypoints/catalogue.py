"""The public catalogue: anyone's pages (no sign-in) for finding published activities and
playlists: a search, a page per activity, playlist and organisation, and a map with its GeoJSON.

Server-rendered and complete without JavaScript; the map's script only adds the tiles and the
markers over the list of the same activities. JSON to `Accept: application/json`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from services.activity.adapters.catalogue import CatalogueReader
from services.activity.domain.catalogue import (
    PAGE_SIZE,
    CatalogueSearch,
    Kind,
    Mode,
    read_search,
    ways_to_earn,
)
from services.kernel.errors import BadRequest, NotFound
from services.kernel.web.negotiation import wants_html

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE.parent / "static"

router = APIRouter(prefix="/catalogue", tags=["catalogue"])

# A page to browsers, its content as JSON to `Accept: application/json`.
PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The page (HTML), or JSON to `Accept: application/json`",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/json": {"schema": {}},
        },
    }
}
GEOJSON: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A GeoJSON FeatureCollection (RFC 7946)",
        "content": {"application/geo+json": {"schema": {"type": "object"}}},
    }
}

LANGUAGES = {
    "ar": "Arabic",
    "bn": "Bengali",
    "cy": "Welsh",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "ga": "Irish",
    "gd": "Scottish Gaelic",
    "hi": "Hindi",
    "it": "Italian",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ur": "Urdu",
    "uk": "Ukrainian",
    "zh": "Chinese",
}


def language_name(tag: str | None) -> str:
    if not tag:
        return ""
    name = LANGUAGES.get(tag.split("-")[0].lower())
    return f"{name} ({tag})" if name and "-" in tag else name or tag


def when(entry: dict[str, Any]) -> str:
    """An activity's dates in words, in UTC (the zone the catalogue keeps times in)."""
    starts, ends = entry.get("starts_at"), entry.get("ends_at")

    def day(at: datetime) -> str:
        return at.strftime("%a %-d %B %Y")

    def clock(at: datetime) -> str:
        return at.strftime("%H:%M")

    if starts and ends:
        if starts.date() == ends.date():
            return f"{day(starts)}, {clock(starts)}–{clock(ends)} UTC"
        return f"{day(starts)} {clock(starts)} to {day(ends)} {clock(ends)} UTC"
    if starts:
        return f"From {day(starts)}, {clock(starts)} UTC"
    if ends:
        return f"Until {day(ends)}, {clock(ends)} UTC"
    return ""


def where(entry: dict[str, Any]) -> str:
    if entry.get("online"):
        return "Online"
    if entry.get("place_name"):
        return ", ".join(p for p in (entry["place_name"], entry.get("place_address")) if p)
    return ""


def excerpt(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["where"] = where
TEMPLATES.env.filters["excerpt"] = excerpt
TEMPLATES.env.filters["language_name"] = language_name


def origin(url: str) -> str:
    parts = urlsplit(url.replace("{s}", "a"))
    host = parts.netloc
    if "{s}" in url:
        host = "*." + host.split(".", 1)[1] if "." in host else host
    return f"{parts.scheme}://{host}"


@dataclass(frozen=True)
class CatalogueWeb:
    """What the catalogue's routes work with, wired once by the composition root."""

    reader: CatalogueReader
    badge_public_url: str
    tile_url: str
    attribution: str

    @property
    def content_security_policy(self) -> str:
        # Pictures of activities are on organisers' own (https) sites, badge images on the
        # badge service, tiles on the tile server; scripts and data only from here.
        images = " ".join(
            dict.fromkeys(
                ["'self'", "data:", "https:", origin(self.badge_public_url), origin(self.tile_url)]
            )
        )
        return "; ".join(
            [
                "default-src 'self'",
                f"img-src {images}",
                "style-src 'self' 'unsafe-inline'",
                "script-src 'self'",
                "connect-src 'self'",
                "object-src 'none'",
                "base-uri 'none'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            ]
        )

    def badge_image(self, badge_class_id: uuid.UUID) -> str:
        return f"{self.badge_public_url.rstrip('/')}/ob/badge-classes/{badge_class_id}/image"

    def badge_class(self, badge_class_id: uuid.UUID) -> str:
        return f"{self.badge_public_url.rstrip('/')}/ob/badge-classes/{badge_class_id}"


def _web(request: Request) -> CatalogueWeb:
    web: CatalogueWeb = request.app.state.catalogue
    return web


Web = Annotated[CatalogueWeb, Depends(_web)]


def _wants_page(request: Request) -> bool:
    return wants_html(request.headers, page_by_default=True)


def _page(
    request: Request, web: CatalogueWeb, template: str, status_code: int = 200, **context: Any
) -> Response:
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = web.content_security_policy
    return response


def _json(data: Any, status_code: int = 200, media_type: str = "application/json") -> Response:
    return JSONResponse(jsonable_encoder(data), status_code=status_code, media_type=media_type)


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the JSON answers show it, with its page's address."""
    kind = entry["kind"]
    return {
        "id": entry["entry_id"],
        "kind": kind,
        "url": page_of(kind, entry["entry_id"]),
        **{k: v for k, v in entry.items() if k not in ("entry_id", "kind", "total")},
    }


def page_of(kind: str, entry_id: uuid.UUID) -> str:
    """The public page of an activity or a playlist (the addresses others link to)."""
    folder = "playlists" if kind == Kind.PLAYLIST else "activities"
    return f"/catalogue/{folder}/{entry_id}"


def _search_or_problem(request: Request) -> tuple[CatalogueSearch, str]:
    params = dict(request.query_params)
    try:
        return read_search(params), ""
    except BadRequest as error:
        # The form again, with what to fix: the same words and filters where they could be read.
        return CatalogueSearch(text=" ".join(params.get("q", "").split())[:200]), error.message


def _link(path: str, search: CatalogueSearch, **changes: Any) -> str:
    params = search.filters() | {k: str(v) for k, v in changes.items() if v}
    return f"{path}?{urlencode(params)}" if params else path


@router.get("", summary="Search the catalogue", responses=PAGE)
async def search_page(request: Request, web: Web) -> Response:
    """Published activities and playlists: words (`q`, typos forgiven), `organisation` (id),
    `from` and `to` (days, YYYY-MM-DD), `mode` (`online`, `in_person`), `kind` (`activity`,
    `playlist`), `page`."""
    search, problem = _search_or_problem(request)
    status = 400 if problem else 200
    rows, total = ([], 0) if problem else await web.reader.search(search)
    if not _wants_page(request):
        if problem:
            return _json({"error": problem}, 400)
        return _json(
            {
                "total": total,
                "page": search.page,
                "page_size": PAGE_SIZE,
                "results": [_public(r) for r in rows],
            }
        )
    pages = max(1, -(-total // PAGE_SIZE))
    return _page(
        request,
        web,
        "catalogue/search.html",
        status,
        search=search,
        problem=problem,
        results=rows,
        total=total,
        pages=pages,
        organisers=await web.reader.organisers(),
        previous=_link("/catalogue", search, page=search.page - 1) if search.page > 1 else None,
        next=_link("/catalogue", search, page=search.page + 1) if search.page < pages else None,
        map_link=_link("/catalogue/map", search),
        Mode=Mode,
        Kind=Kind,
    )


def _not_found(what: str) -> NotFound:
    # A draft, an archived activity and an unknown id answer alike: nothing says a draft exists.
    return NotFound(f"there is no published {what} at this address")


@router.get("/activities/{activity_id}", summary="An activity's public page", responses=PAGE)
async def activity_page(activity_id: uuid.UUID, request: Request, web: Web) -> Response:
    entry = await web.reader.entry(Kind.ACTIVITY, activity_id)
    if entry is None:
        raise _not_found("activity")
    badge = await web.reader.badge_of(activity_id)
    playlists = await web.reader.playlists_with(activity_id)
    ways = ways_to_earn(badge) if badge else []
    if not _wants_page(request):
        return _json(
            {
                **_public(entry),
                "badge": _badge_json(web, badge, ways),
                "playlists": [
                    {
                        "id": p["entry_id"],
                        "title": p["title"],
                        "url": f"/catalogue/playlists/{p['entry_id']}",
                    }
                    for p in playlists
                ],
            }
        )
    return _page(
        request,
        web,
        "catalogue/activity.html",
        entry=entry,
        badge=badge,
        ways=ways,
        playlists=playlists,
        badge_image=web.badge_image(badge.badge_class_id) if badge else None,
        badge_class=web.badge_class(badge.badge_class_id) if badge else None,
    )


def _badge_json(web: CatalogueWeb, badge: Any, ways: list[Any]) -> dict[str, Any] | None:
    if badge is None:
        return None
    return {
        "name": badge.name,
        "description": badge.description,
        "criteria": badge.criteria,
        "image": web.badge_image(badge.badge_class_id),
        "badge_class": web.badge_class(badge.badge_class_id),
        "how_to_earn": [{"way": way.value, "text": text} for way, text in ways],
    }


@router.get("/playlists/{playlist_id}", summary="A playlist's public page", responses=PAGE)
async def playlist_page(playlist_id: uuid.UUID, request: Request, web: Web) -> Response:
    entry = await web.reader.entry(Kind.PLAYLIST, playlist_id)
    if entry is None:
        raise _not_found("playlist")
    activities = await web.reader.activities_in_order(list(entry["activity_ids"]))
    badge = await web.reader.badge_of(playlist_id)
    ways = ways_to_earn(badge) if badge else []
    if not _wants_page(request):
        return _json(
            {
                **_public(entry),
                "activities": [_public(a) for a in activities],
                "badge": _badge_json(web, badge, ways),
            }
        )
    return _page(
        request,
        web,
        "catalogue/playlist.html",
        entry=entry,
        activities=activities,
        badge=badge,
        ways=ways,
        badge_image=web.badge_image(badge.badge_class_id) if badge else None,
        badge_class=web.badge_class(badge.badge_class_id) if badge else None,
    )


@router.get(
    "/organisations/{organisation_id}", summary="An organisation's activities and playlists"
)
async def organisation_page(organisation_id: uuid.UUID, request: Request, web: Web) -> Response:
    organisation = await web.reader.organisation(organisation_id)
    if organisation is None:
        raise NotFound("there is no organisation at this address")
    entries = await web.reader.of_organisation(organisation_id)
    playlists = [e for e in entries if e["kind"] == Kind.PLAYLIST]
    activities = [e for e in entries if e["kind"] == Kind.ACTIVITY]
    if not _wants_page(request):
        return _json(
            {
                "id": organisation_id,
                "name": organisation["name"],
                "url": organisation["url"],
                "playlists": [_public(e) for e in playlists],
                "activities": [_public(e) for e in activities],
            }
        )
    return _page(
        request,
        web,
        "catalogue/organisation.html",
        organisation=organisation,
        playlists=playlists,
        activities=activities,
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def feature(entry: dict[str, Any]) -> dict[str, Any]:
    """One activity as a GeoJSON Feature (coordinates are longitude, latitude)."""
    return {
        "type": "Feature",
        "id": str(entry["entry_id"]),
        "geometry": {"type": "Point", "coordinates": [entry["longitude"], entry["latitude"]]},
        "properties": {
            "title": entry["title"],
            "url": f"/catalogue/activities/{entry['entry_id']}",
            "organiser": entry["organisation_name"],
            "place": entry["place_name"],
            "address": entry["place_address"],
            "starts_at": _iso(entry["starts_at"]),
            "ends_at": _iso(entry["ends_at"]),
            "when": when(entry),
        },
    }


@router.get("/map.geojson", summary="In-person activities, as GeoJSON", responses=GEOJSON)
async def map_geojson(request: Request, web: Web) -> Response:
    """A FeatureCollection of the published in-person activities with a point, filtered like
    the search (`q`, `organisation`, `from`, `to`) and by `bbox` (west,south,east,north). At
    most 500; `truncated` says when there were more."""
    try:
        search = read_search(dict(request.query_params))
    except BadRequest as error:
        return _json({"error": error.message}, 400)
    rows: list[dict[str, Any]] = []
    truncated = False
    if search.kind is Kind.PLAYLIST or search.mode is Mode.ONLINE:
        pass  # nothing online, and no playlist, has a place on a map
    else:
        rows, truncated = await web.reader.on_the_map(search)
    collection = {
        "type": "FeatureCollection",
        "features": [feature(row) for row in rows],
        "truncated": truncated,
    }
    # Plain JSON already (ids and times are text): no encoder pass over up to 500 features.
    return JSONResponse(collection, media_type="application/geo+json")


@router.get("/map", summary="A map of in-person activities", responses=PAGE)
async def map_page(request: Request, web: Web) -> Response:
    search, problem = _search_or_problem(request)
    if search.kind is Kind.PLAYLIST or search.mode is Mode.ONLINE:
        problem = problem or "the map shows in-person activities: choose in person or any"
    rows, truncated = ([], False) if problem else await web.reader.on_the_map(search)
    if not _wants_page(request):
        if problem:
            return _json({"error": problem}, 400)
        return _json({"results": [_public(r) for r in rows], "truncated": truncated})
    return _page(
        request,
        web,
        "catalogue/map.html",
        400 if problem else 200,
        search=search,
        problem=problem,
        results=rows,
        truncated=truncated,
        organisers=await web.reader.organisers(),
        geojson=_link("/catalogue/map.geojson", search),
        search_link=_link("/catalogue", search),
        tile_url=web.tile_url,
        attribution=web.attribution,
        Mode=Mode,
        Kind=Kind,
    )
