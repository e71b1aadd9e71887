"""Organisers' resend of an offer whose email failed: the request is appended as a fact
(OfferResendRequested) under the badge's lock, and the notifier mails the same claim link as a
new email."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from contracts import new_envelope
from contracts.badge import OfferResendRequested
from services.badge.adapters import read_models
from services.kernel.errors import Conflict, Forbidden, NotFound
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import CurrentOrganiser, Organiser

router = APIRouter(tags=["issuing"])


async def request_resend(
    runtime: ServiceRuntime, organiser: Organiser, offer_id: uuid.UUID
) -> dict[str, Any]:
    now = datetime.now(UTC)

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        offer = await read_models.get_offer(uow.conn, offer_id)
        if offer is None:
            raise NotFound("offer not found")
        version = await uow.lock_stream(offer.badge_class_id)
        badge = await read_models.get_badge_class(uow.conn, offer.badge_class_id)
        if badge is None or badge.issuer_id != organiser.organisation_id:
            raise Forbidden("this offer belongs to another organisation")
        # Read again under the badge's lock: a resend or a claim may have landed meanwhile.
        status = await uow.conn.fetchval(
            "SELECT COALESCE((SELECT status FROM offer_emails WHERE offer_id = $1), 'pending')",
            offer_id,
        )
        offer = await read_models.get_offer(uow.conn, offer_id)
        assert offer is not None
        if offer.assertion_id is not None:
            raise Conflict("this offer was claimed already; there is nothing to resend")
        if offer.expires_at <= now:
            raise Conflict("this offer has expired; make a new offer to the address instead")
        if status != "failed":
            raise Conflict(f"this offer's email is {status}: only a failed email is sent again")
        event = OfferResendRequested(offer_id=offer_id, badge_class_id=offer.badge_class_id)
        await uow.emit(
            new_envelope(
                event,
                stream_id=offer.badge_class_id,
                stream_version=version + 1,
                occurred_at=now,
                actor=organiser.actor,
            )
        )
        return {"offer_id": str(offer_id), "email_status": "resending"}

    result: dict[str, Any] = await runtime.execute(work)
    return result


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
    return await request_resend(runtime, organiser, offer_id)
