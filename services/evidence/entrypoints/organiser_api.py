"""The organisers' API: the submissions waiting for their organisation's review, and their
verdict on one (authenticated by API key)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.evidence import service_layer
from services.evidence.adapters import read_models
from services.evidence.entrypoints.web import Web, answers
from services.organiser_access import CurrentOrganiser

router = APIRouter(prefix="/v1", tags=["organisers"])


class OrganiserReview(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["approve", "reject"]
    feedback: str = Field(default="", max_length=5_000)


@router.get("/review-queue", responses=answers(401))
async def review_queue(organiser: CurrentOrganiser, web: Web) -> list[dict[str, Any]]:
    """Submissions waiting for your organisation's review (organiser-reviewed badges, and
    peer-reviewed ones that had too few reviewers when submitted)."""
    async with web.runtime.pool.acquire() as conn:
        return await read_models.review_queue(conn, organiser.organisation_id)


@router.post("/submissions/{submission_id}/review", responses=answers(401, 403, 404, 409, 422))
async def organiser_review(
    submission_id: uuid.UUID, body: OrganiserReview, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """`feedback` is required to ask for changes (`reject`): 422 without it."""
    async with web.runtime.pool.acquire() as conn:
        email = await read_models.organiser_email(conn, organiser.organiser_id)
    await service_layer.review(
        web.runtime,
        submission_id,
        email or str(organiser.organiser_id),
        "organiser",
        body.verdict,
        body.feedback,
        organisation_id=organiser.organisation_id,
    )
    return {"submission_id": str(submission_id), "recorded": body.verdict}
