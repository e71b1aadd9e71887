"""The public catalogue's rules: what anyone may find in it (published activities and playlists,
never a draft, an archived activity or a learner), how a search is asked (its filters, read
and checked here), and how the badge of an activity or a playlist is earned."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar

from services.activity.domain.model import Activity, Playlist, Status
from services.kernel.errors import BadRequest

PAGE_SIZE = 20
MAX_PAGE = 500  # deeper than anyone reads; a bound on OFFSET for the database
MAX_QUERY_CHARS = 200
# The map shows at most this many activities at once (the GeoJSON and the list beside it);
# a box or filter that matches more says so, and the learner zooms in or narrows it.
MAP_LIMIT = 500
# Days a search may name (PostgreSQL and Python both count well past these).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9000, 12, 31)


class Kind(StrEnum):
    ACTIVITY = "activity"
    PLAYLIST = "playlist"


class Mode(StrEnum):
    """How one takes part: an activity is online, or in person at its place."""

    ONLINE = "online"
    IN_PERSON = "in_person"


def is_listed(item: Activity | Playlist) -> bool:
    """Only what the organiser published is public; a draft or an archived activity never is."""
    return item.status is Status.PUBLISHED


@dataclass(frozen=True)
class BoundingBox:
    """A map's visible area, as the GeoJSON request gives it: west, south, east, north."""

    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        for name, value, limit in (
            ("west", self.west, 180),
            ("east", self.east, 180),
            ("south", self.south, 90),
            ("north", self.north, 90),
        ):
            if not math.isfinite(value) or not -limit <= value <= limit:
                raise BadRequest(f"bbox: {name} must be between -{limit} and {limit}")
        if self.south > self.north:
            raise BadRequest("bbox: south must not be north of north")
        if self.west > self.east:
            raise BadRequest("bbox: west must not be east of east (a box across 180° is two boxes)")

    @classmethod
    def parse(cls, text: str) -> BoundingBox:
        parts = text.split(",")
        try:
            if len(parts) != 4:
                raise ValueError
            west, south, east, north = (float(part) for part in parts)
        except ValueError:
            raise BadRequest(
                "bbox is four numbers, west,south,east,north in degrees: "
                "e.g. -1.6,53.75,-1.45,53.85"
            ) from None
        return cls(west, south, east, north)


@dataclass(frozen=True)
class CatalogueSearch:
    """One search of the catalogue: words, filters and a page. Every filter narrows; none set
    lists everything published. Dates are whole days (UTC), both ends included."""

    text: str = ""
    organisation_id: uuid.UUID | None = None
    starts_from: date | None = None
    ends_by: date | None = None
    mode: Mode | None = None
    kind: Kind | None = None
    page: int = 1
    bbox: BoundingBox | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def only_activities(self) -> bool:
        """Dates, a way of taking part and a map box are the activities' own: a playlist has
        none, so any of them leaves playlists out."""
        return (
            self.kind is Kind.ACTIVITY
            or self.mode is not None
            or self.starts_from is not None
            or self.ends_by is not None
            or self.bbox is not None
        )

    @property
    def from_instant(self) -> datetime | None:
        """An activity is in the range if it has not ended before the first day begins."""
        return datetime.combine(self.starts_from, time(), UTC) if self.starts_from else None

    @property
    def until_instant(self) -> datetime | None:
        """...and it starts before the day after the last one."""
        if self.ends_by is None:
            return None
        return datetime.combine(self.ends_by + timedelta(days=1), time(), UTC)

    def filters(self) -> dict[str, str]:
        """The filters as query parameters (for links to other pages of the same search)."""
        out = {
            "q": self.text,
            "organisation": str(self.organisation_id) if self.organisation_id else "",
            "from": self.starts_from.isoformat() if self.starts_from else "",
            "to": self.ends_by.isoformat() if self.ends_by else "",
            "mode": self.mode.value if self.mode else "",
            "kind": self.kind.value if self.kind else "",
        }
        if self.bbox:
            box = self.bbox
            out["bbox"] = f"{box.west},{box.south},{box.east},{box.north}"
        return {name: value for name, value in out.items() if value}


E = TypeVar("E", bound=StrEnum)


def _choice(enum: type[E], name: str, value: str, problems: list[str]) -> E | None:
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = " or ".join(member.value for member in enum)
        problems.append(f"{name} is {allowed}, not {value[:40]!r}")
        return None


def _day(name: str, value: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems.append(f"{name} is a date as YYYY-MM-DD, e.g. 2027-05-01, not {value[:40]!r}")
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        problems.append(f"{name} is a day from {FIRST_DAY} to {LAST_DAY}")
        return None
    return day


def read_search(params: Mapping[str, str]) -> CatalogueSearch:
    """A search from the address's query (a form sends empty fields: not set). Raises
    BadRequest naming every parameter that is wrong."""
    problems: list[str] = []
    text = " ".join(params.get("q", "").split())
    if len(text) > MAX_QUERY_CHARS:
        problems.append(f"the search is at most {MAX_QUERY_CHARS} characters")
    organisation_id = None
    if organisation := params.get("organisation", "").strip():
        try:
            organisation_id = uuid.UUID(organisation)
        except ValueError:
            problems.append("organisation is an organisation's id, as its page's address shows")
    starts_from = _day("from", params.get("from", "").strip(), problems)
    ends_by = _day("to", params.get("to", "").strip(), problems)
    if starts_from and ends_by and ends_by < starts_from:
        problems.append("to is a day on or after from")
    mode = _choice(Mode, "mode", params.get("mode", "").strip(), problems)
    kind = _choice(Kind, "kind", params.get("kind", "").strip(), problems)
    page = 1
    if raw_page := params.get("page", "").strip():
        if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
            problems.append(f"page is a whole number from 1 to {MAX_PAGE}")
        else:
            page = int(raw_page)
    bbox = None
    if raw_box := params.get("bbox", "").strip():
        try:
            bbox = BoundingBox.parse(raw_box)
        except BadRequest as error:
            problems.append(error.message)
    if kind is Kind.PLAYLIST and (mode or starts_from or ends_by or bbox):
        problems.append("playlists have no dates, place or way of taking part: filter activities")
    if problems:
        raise BadRequest("; ".join(problems))
    return CatalogueSearch(
        text=text,
        organisation_id=organisation_id,
        starts_from=starts_from,
        ends_by=ends_by,
        mode=mode,
        kind=kind,
        page=page,
        bbox=bbox,
    )


# -- typos ------------------------------------------------------------------------------------

MAX_WORDS = 8
_WORD = re.compile(r"[^\W_]+")


def query_words(text: str) -> list[str]:
    """The words of a search that may be typos: lower case, letters and digits only (so they
    can be written into a tsquery as they are), three letters or more, each once."""
    words = [w.lower() for w in _WORD.findall(text)]
    return list(dict.fromkeys(w for w in words if len(w) >= 3))[:MAX_WORDS]


def widened_query(words: list[str], alternatives: Mapping[str, list[str]]) -> str:
    """A tsquery (to_tsquery syntax) that every word must match, as asked or as one of the
    published words taken for it: `(gardneing | gardening) & rooftop`."""
    terms = []
    for word in words:
        spellings = [word, *(a for a in alternatives.get(word, []) if _WORD.fullmatch(a))]
        terms.append(spellings[0] if len(spellings) == 1 else f"({' | '.join(spellings)})")
    return " & ".join(terms)


# -- how a badge is earned --------------------------------------------------------------------


class Way(StrEnum):
    EMAIL = "email"
    OPEN_LINK = "open_link"
    QUEST = "quest"
    PLAYLIST = "playlist"


@dataclass(frozen=True)
class CatalogueBadge:
    """What the catalogue knows of a badge, from the badge service's log."""

    badge_class_id: uuid.UUID
    source_kind: str
    source_id: uuid.UUID
    name: str
    description: str
    criteria: str
    evidence_mode: str = "none"
    open_link: bool = True
    task_titles: tuple[str, ...] = ()


REVIEWERS = {
    "self": "you confirm it yourself",
    "peer": "other learners review it",
    "organiser": "the organisers review it",
}


def ways_to_earn(badge: CatalogueBadge) -> list[tuple[Way, str]]:
    """How a learner comes to hold the badge, in the words the catalogue shows."""
    if badge.source_kind == "playlist":
        return [
            (
                Way.PLAYLIST,
                "Earn the badge of every activity in this playlist: this badge is then "
                "awarded to you by itself.",
            )
        ]
    ways = [
        (
            Way.EMAIL,
            "By email: the organiser sends it to your address, and you accept it from the "
            "link in the email.",
        )
    ]
    if badge.open_link:
        ways.append(
            (
                Way.OPEN_LINK,
                "By open link: at the activity the organiser shares a link or QR code; open it, "
                "give your email address and accept the badge from the email it sends.",
            )
        )
    if badge.evidence_mode in REVIEWERS:
        tasks = f" ({', '.join(badge.task_titles)})" if badge.task_titles else ""
        ways.append(
            (
                Way.QUEST,
                "By evidence quest: the link starts a quest where you show what you did for "
                f"each task{tasks}; {REVIEWERS[badge.evidence_mode]}, and then the badge is "
                "yours.",
            )
        )
    return ways
