"""The console's home: the organisation's activities and playlists, each with its status, its
badge and how far it has gone (offered, claimed, waiting for review), searched and filtered on
the server so it works without JavaScript."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.pages.activities import STATUSES, matches
from services.console.rendering import render
from services.console.signed_in import SignedIn, backends_of

router = APIRouter()
KINDS = ("activity", "playlist")


def rows(
    activities: list[dict[str, Any]],
    playlists: list[dict[str, Any]],
    counts: list[dict[str, Any]],
    queue: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """One row per activity and playlist with its badge's counts (none before publishing)."""
    by_source = {str(c["source_id"]): c for c in counts}
    pending = Counter(str(item["badge_class_id"]) for item in queue)
    found = []
    for kind, items in (("activity", activities), ("playlist", playlists)):
        section = "activities" if kind == "activity" else "playlists"
        for item in items:
            badge = by_source.get(str(item["id"]))
            found.append(
                {
                    **item,
                    "kind": kind,
                    "path": f"/{section}/{item['id']}",
                    "badge": badge,
                    "offered": badge["offered"] if badge else 0,
                    "claimed": badge["claimed"] if badge else 0,
                    "pending_review": pending[str(badge["badge_class_id"])] if badge else 0,
                }
            )
    return sorted(found, key=lambda r: str(r.get("updated_at") or ""), reverse=True)


@router.get("/")
async def dashboard(
    request: Request, session: SignedIn, q: str = "", status: str = "", kind: str = ""
) -> Response:
    backends = backends_of(request)
    activities, playlists, counts, queue = await asyncio.gather(
        backends.activity.get("/v1/activities", session),
        backends.activity.get("/v1/playlists", session),
        backends.badge.get("/v1/badge-counts", session),
        backends.evidence.get("/v1/review-queue", session),
    )
    every = rows(activities, playlists, counts, queue)
    shown = [r for r in every if (kind not in KINDS or r["kind"] == kind) and matches(r, q, status)]
    return render(
        request,
        "dashboard.html",
        rows=shown,
        total=len(every),
        q=q,
        status=status if status in STATUSES else "",
        kind=kind if kind in KINDS else "",
        statuses=STATUSES,
        waiting=len(queue),
    )
