"""The console's keys pages."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
