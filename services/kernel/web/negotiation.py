"""Who is asking: a person's browser gets pages, every other client gets JSON."""

from __future__ import annotations

from starlette.datastructures import Headers


def wants_html(headers: Headers, *, page_by_default: bool = False) -> bool:
    """True when the client asks for HTML before JSON, as browsers do.

    Clients that send no Accept, `*/*` or `application/json` keep getting JSON: API clients
    and verifiers must get exactly the JSON they always got. Pages people open from emailed
    links (a learner's quest, a reviewer's link) pass `page_by_default`: there a client that
    names neither HTML nor JSON gets the page, and JSON only to those who ask for it.
    """
    accept = headers.get("accept", "").lower()
    if "text/html" not in accept:
        return page_by_default and "json" not in accept
    return "json" not in accept or accept.index("text/html") < accept.index("json")
