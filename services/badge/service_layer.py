"""Carries out organisers' and learners' commands on badges: take the badge's lock, decide,
append. Claims are decided by the same handler the consumer runs, in log order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from contracts import new_envelope
from contracts.badge import (
    AssertionRevoked,
    BadgeOffered,
    ClaimRequested,
    HeldBadgeRequested,
    OpenLinkRegenerated,
    PeerReviewerInvited,
)
from services.badge.adapters import read_models
from services.badge.domain.model import (
    BadgeClass,
    OfferIds,
    check_open_link,
    check_open_link_room,
    edit_badge,
    normalise_email,
    offer_badge,
)
from services.kernel.errors import Conflict, Forbidden, NotFound
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import Organiser


async def _owned_badge(
    uow: UnitOfWork, organiser: Organiser, badge_class_id: uuid.UUID
) -> BadgeClass:
    badge = await read_models.get_badge_class(uow.conn, badge_class_id)
    if badge is None:
        raise NotFound("badge not found")
    if badge.issuer_id != organiser.organisation_id:
        raise Forbidden("this badge belongs to another organisation")
    return badge


async def edit(
    runtime: ServiceRuntime,
    organiser: Organiser,
    badge_class_id: uuid.UUID,
    changes: dict[str, Any],
) -> BadgeClass:
    async def work(uow: UnitOfWork) -> BadgeClass:
        version = await uow.lock_stream(badge_class_id)
        badge = await _owned_badge(uow, organiser, badge_class_id)
        edited = edit_badge(badge, changes)
        if edited is not None:
            await uow.emit(
                new_envelope(
                    edited,
                    stream_id=badge_class_id,
                    stream_version=version + 1,
                    actor=organiser.actor,
                )
            )
        return await _owned_badge(uow, organiser, badge_class_id)

    return await runtime.execute(work)


async def regenerate_open_link(
    runtime: ServiceRuntime, organiser: Organiser, badge_class_id: uuid.UUID
) -> BadgeClass:
    async def work(uow: UnitOfWork) -> BadgeClass:
        version = await uow.lock_stream(badge_class_id)
        badge = await _owned_badge(uow, organiser, badge_class_id)
        event = OpenLinkRegenerated(
            badge_class_id=badge_class_id, generation=badge.open_link_generation + 1
        )
        await uow.emit(
            new_envelope(
                event, stream_id=badge_class_id, stream_version=version + 1, actor=organiser.actor
            )
        )
        return await _owned_badge(uow, organiser, badge_class_id)

    return await runtime.execute(work)


@dataclass(frozen=True)
class Recipient:
    row: int
    email: str


@dataclass(frozen=True)
class IssueResult:
    offers: list[dict[str, Any]]
    created: int


async def offer_to_emails(
    runtime: ServiceRuntime,
    organiser: Organiser,
    badge_class_id: uuid.UUID,
    recipients: list[Recipient],
    idempotency_key: str,
    offer_ids: OfferIds,
) -> IssueResult:
    """One offer per recipient. The offer ids follow from the idempotency key (under a server
    secret), so a retried request finds its offers already made and makes none twice."""
    now = datetime.now(UTC)

    async def work(uow: UnitOfWork) -> IssueResult:
        version = await uow.lock_stream(badge_class_id)
        badge = await _owned_badge(uow, organiser, badge_class_id)
        issuer = await read_models.issuer_name(uow.conn, badge.issuer_id)
        planned = [
            (r, offer_ids.for_issue(badge_class_id, idempotency_key, r.email)) for r in recipients
        ]
        existing = await read_models.existing_offer_ids(uow.conn, [o for _, o in planned])
        created = 0
        for recipient, offer_id in planned:
            if offer_id in existing:
                continue
            created += 1
            event = offer_badge(
                badge,
                offer_id=offer_id,
                email=recipient.email,
                via="email",
                now=now,
                issuer_name=issuer,
            )
            await uow.emit(
                new_envelope(
                    event,
                    event_id=offer_id,
                    stream_id=badge_class_id,
                    stream_version=version + created,
                    occurred_at=now,
                    actor=organiser.actor,
                )
            )
        offers = [{"row": r.row, "email": r.email, "offer_id": offer_id} for r, offer_id in planned]
        return IssueResult(offers=offers, created=created)

    return await runtime.execute(work)


async def offer_by_open_link(
    runtime: ServiceRuntime, badge_class_id: uuid.UUID, generation: int, email: str
) -> None:
    """Someone with the open link asks for the badge: a personal link goes to their email,
    which proves the address before anything is awarded.

    Whoever asks gets the same answer (a link is on its way), so the link tells nobody who
    holds the badge: a holder is mailed that they hold it instead of a claim link. The offer's
    id is random, so nothing public (the offer, its quest) follows from the address.
    """
    now = datetime.now(UTC)
    email = normalise_email(email)

    async def work(uow: UnitOfWork) -> None:
        version = await uow.lock_stream(badge_class_id)
        badge = await read_models.get_badge_class(uow.conn, badge_class_id)
        if badge is None:
            raise NotFound("This link does not lead to a badge.")
        check_open_link(badge, generation, now)
        # One offer per address and link: asking again mails nobody again.
        if await read_models.open_link_offer(uow.conn, badge_class_id, generation, email):
            return
        check_open_link_room(badge, await read_models.open_link_taken(uow.conn, badge, now))
        issuer = await read_models.issuer_name(uow.conn, badge.issuer_id)
        held = await read_models.held_assertion_id(uow.conn, badge_class_id, email)
        event: BadgeOffered | HeldBadgeRequested
        if held is not None:
            if await read_models.holder_notified(uow.conn, badge_class_id, generation, email):
                return
            event = HeldBadgeRequested(
                badge_class_id=badge_class_id,
                issuer_id=badge.issuer_id,
                assertion_id=held,
                recipient_email=email,
                open_link_generation=generation,
                badge_name=badge.name,
                issuer_name=issuer,
            )
        else:
            event = offer_badge(
                badge,
                offer_id=uuid.uuid4(),
                email=email,
                via="open_link",
                now=now,
                issuer_name=issuer,
                open_link_generation=generation,
            )
        await uow.emit(
            new_envelope(
                event,
                event_id=event.offer_id if isinstance(event, BadgeOffered) else None,
                stream_id=badge_class_id,
                stream_version=version + 1,
                actor="learner",
            )
        )

    await runtime.execute(work)


@dataclass(frozen=True)
class ClaimOutcome:
    outcome: Literal["awarded", "rejected", "pending"]
    reason: str | None
    assertion_id: uuid.UUID | None


async def accept_offer(runtime: ServiceRuntime, offer_id: uuid.UUID) -> ClaimOutcome:
    """Append the Accept as a fact and return its outcome, decided in log order."""
    request_id = uuid.uuid4()

    async def work(uow: UnitOfWork) -> ClaimOutcome:
        offer = await read_models.get_offer(uow.conn, offer_id)
        if offer is None:
            raise NotFound("This link does not lead to a badge.")
        version = await uow.lock_stream(offer.badge_class_id)
        request = ClaimRequested(
            offer_id=offer_id, badge_class_id=offer.badge_class_id, request_id=request_id
        )
        await uow.emit(
            new_envelope(
                request, stream_id=offer.badge_class_id, stream_version=version + 1, actor="learner"
            )
        )
        outcome = await read_models.claim_outcome(uow.conn, request_id)
        assert outcome is not None
        return ClaimOutcome(outcome["outcome"], outcome["reason"], outcome["assertion_id"])

    return await runtime.execute(work)


async def invite_peers(
    runtime: ServiceRuntime, organiser: Organiser, badge_class_id: uuid.UUID, emails: list[str]
) -> None:
    async def work(uow: UnitOfWork) -> None:
        version = await uow.lock_stream(badge_class_id)
        await _owned_badge(uow, organiser, badge_class_id)
        for offset, email in enumerate(emails, start=1):
            event = PeerReviewerInvited(badge_class_id=badge_class_id, email=email)
            await uow.emit(
                new_envelope(
                    event,
                    stream_id=badge_class_id,
                    stream_version=version + offset,
                    actor=organiser.actor,
                )
            )

    await runtime.execute(work)


async def revoke(
    runtime: ServiceRuntime, organiser: Organiser, assertion_id: uuid.UUID, reason: str
) -> None:
    async def work(uow: UnitOfWork) -> None:
        found = await read_models.get_assertion(uow.conn, assertion_id)
        if found is None:
            raise NotFound("assertion not found")
        version = await uow.lock_stream(found.badge_class_id)
        await _owned_badge(uow, organiser, found.badge_class_id)
        # Read again under the badge's lock: a revocation may have landed meanwhile.
        assertion = await read_models.get_assertion(uow.conn, assertion_id)
        assert assertion is not None
        if assertion.revoked:
            raise Conflict("the assertion is already revoked")
        event = AssertionRevoked(
            assertion_id=assertion_id, badge_class_id=assertion.badge_class_id, reason=reason
        )
        await uow.emit(
            new_envelope(
                event,
                stream_id=assertion.badge_class_id,
                stream_version=version + 1,
                actor=organiser.actor,
            )
        )

    await runtime.execute(work)
