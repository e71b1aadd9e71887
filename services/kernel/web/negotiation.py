"""Who is asking: a person's browser gets pages, every other client gets JSON."""

from __future__ import annotations

from starlette.datastructures import Headers


def wants_html(headers: Headers) -> bool:
    """True when the client asks for HTML before JSON, as browsers do.

    Clients that send no Accept, `*/*` or `application/json` keep getting JSON: API clients
    and verifiers must get exactly the JSON they always got.
    """
    accept = headers.get("accept", "").lower()
    if "text/html" not in accept:
        return False
    return "json" not in accept or accept.index("text/html") < accept.index("json")
