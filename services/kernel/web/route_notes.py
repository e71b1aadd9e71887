"""What a route says about itself beyond FastAPI's defaults, given to `new_app` by operation
("GET /ob/assertions/{assertion_id}"): the media types it answers in (a JSON-LD document, an
image), statuses it answers besides its own, and a JSON body limit above 64 KiB."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RouteNote:
    media_types: tuple[str, ...] = ()
    # Other successes it may answer, e.g. {200: "Nothing new: a retry"} next to its 201.
    also_answers: Mapping[int, str] = field(default_factory=dict)
    body_limit: int | None = None


RouteNotes = Mapping[str, RouteNote]


def apply_to_operation(note: RouteNote, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if note.media_types:
        success = next((k for k in sorted(responses) if k.startswith("2")), "200")
        content = responses.setdefault(success, {"description": "Successful Response"})
        content["content"] = {media_type: {} for media_type in note.media_types}
    for status, description in note.also_answers.items():
        responses.setdefault(str(status), {"description": description})
