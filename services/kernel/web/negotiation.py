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


def wants_html(headers: Headers) -> bool:
    """For an address that answers JSON by default: True when the client asks for HTML before
    JSON, as browsers do."""
    return preferred_format(headers, default="json") == "html"


def wants_json(headers: Headers) -> bool:
    """For an address that answers a page by default: True when the client asks for JSON
    before HTML."""
    return preferred_format(headers, default="html") == "json"
