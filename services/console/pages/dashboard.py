"""The console's home: the organisation's activities and playlists at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.rendering import render
from services.console.signed_in import SignedIn

router = APIRouter()


@router.get("/")
async def dashboard(request: Request, session: SignedIn) -> Response:
    return render(request, "dashboard.html")
