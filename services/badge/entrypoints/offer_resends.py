"""Organisers' resend of an offer whose email failed (see `service_layer.request_resend`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from services.badge import service_layer
from services.kernel.runtime import ServiceRuntime
from services.organiser_access import CurrentOrganiser

router = APIRouter(tags=["issuing"])


@router.post(
    "/v1/offers/{offer_id}/resend",
    status_code=202,
    responses={
        403: {"description": "The offer belongs to another organisation."},
        404: {"description": "No such offer."},
        409: {"description": "Its email did not fail, or the offer is claimed or expired."},
    },
)
async def resend_offer(
    offer_id: uuid.UUID, organiser: CurrentOrganiser, request: Request
) -> dict[str, Any]:
    """Send a failed offer's email again (the same personal link). The offer's
    `email_status` is `resending` until the notifier records it as `sent` or `failed`."""
    runtime: ServiceRuntime = request.app.state.runtime
    return await service_layer.request_resend(runtime, organiser, offer_id)
