"""Who is asking: the one rule for HTML or JSON, whatever the address.

Whichever of HTML and JSON the client's Accept names first is what it gets. A client that names
neither (no Accept, `*/*`, an image type) gets the address's default: JSON for the APIs and the
Open Badges documents (API clients and verifiers must get exactly the JSON they always got), a
page for the addresses a person opens from a link (invariant 10: every browser gets a page).
"""

from __future__ import annotations

from typing import Literal

from starlette.datastructures import Headers

Format = Literal["html", "json"]


def preferred_format(headers: Headers, default: Format) -> Format:
    """HTML or JSON, whichever the Accept header names first; `default` if it names neither."""
    accept = headers.get("accept", "").lower()
    html = accept.find("text/html")
    json = accept.find("json")
    if html < 0 and json < 0:
        return default
    if json < 0 or 0 <= html < json:
        return "html"
    return "json"


def wants_html(headers: Headers, *, page_by_default: bool = False) -> bool:
    """True when the client asks for HTML before JSON, as browsers do.

    Clients that send no Accept, `*/*` or `application/json` keep getting JSON: API clients
    and verifiers must get exactly the JSON they always got. Pages people open from emailed
    links (a learner's quest, a reviewer's link) pass `page_by_default`: there a client that
    names neither HTML nor JSON gets the page, and JSON only to those who ask for it.
    """
    return preferred_format(headers, default="html" if page_by_default else "json") == "html"
