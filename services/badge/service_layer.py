"""Carries out organisers' and learners' commands on badges: take the badge's lock, load its
state, let the domain decide, append. No rules of its own. Claims are decided by the same
policy the consumer runs, in log order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from contracts import new_envelope
from contracts.badge import (
    BadgeEvent,
    BadgeOffered,
    BulkIssueFinished,
    BulkIssueRequested,
    ClaimRequested,
    RecipientsFile,
    RejectedRow,
)
from services.badge.adapters import read_models
from services.badge.domain.model import (
    BadgeClass,
    OfferIds,
    OpenLinkHistory,
    check_issuing_open,
    check_open_link,
    check_owner,
    decide_offers,
    decide_open_link_request,
    decide_peer_invites,
    decide_regenerate,
    decide_resend,
    decide_revocation,
    edit_badge,
    normalise_email,
)
from services.kernel.errors import NotFound
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import Organiser


async def _owned_badge(
    uow: UnitOfWork, organiser: Organiser, badge_class_id: uuid.UUID
) -> BadgeClass:
    badge = await read_models.get_badge_class(uow.conn, badge_class_id)
    return check_owner(badge, organiser.organisation_id)


async def _append(
    uow: UnitOfWork,
    events: list[BadgeEvent],
    *,
    stream_id: uuid.UUID,
    after: int,
    actor: str,
    occurred_at: datetime | None = None,
    correlation_id: uuid.UUID | None = None,
) -> None:
    """Append what was decided to the badge's stream, after version `after` (read under its
    lock). An offer's event id is the offer's id, so a retried request finds it applied."""
    for offset, event in enumerate(events, start=1):
        await uow.emit(
            new_envelope(
                event,
                event_id=event.offer_id if isinstance(event, BadgeOffered) else None,
                stream_id=stream_id,
                stream_version=after + offset,
                occurred_at=occurred_at,
                actor=actor,
                correlation_id=correlation_id,
            )
        )


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
        await _append(
            uow,
            [edited] if edited else [],
            stream_id=badge_class_id,
            after=version,
            actor=organiser.actor,
        )
        return await _owned_badge(uow, organiser, badge_class_id)

    return await runtime.execute(work)


async def regenerate_open_link(
    runtime: ServiceRuntime, organiser: Organiser, badge_class_id: uuid.UUID
) -> BadgeClass:
    async def work(uow: UnitOfWork) -> BadgeClass:
        version = await uow.lock_stream(badge_class_id)
        badge = await _owned_badge(uow, organiser, badge_class_id)
        regenerated = decide_regenerate(badge)
        await _append(
            uow, list(regenerated), stream_id=badge_class_id, after=version, actor=organiser.actor
        )
        return await _owned_badge(uow, organiser, badge_class_id)

    return await runtime.execute(work)


@dataclass(frozen=True)
class Recipient:
    row: int
    email: str


@dataclass(frozen=True)
class IssueResult:
    issue_id: uuid.UUID
    offers: list[dict[str, Any]]
    created: int


def issue_id_of(badge_class_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """One bulk issue's id: the correlation id of every offer it makes, retries included, so
    its progress can be counted from the log alone."""
    return uuid.uuid5(badge_class_id, f"issue:{idempotency_key}")


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
    issue_id = issue_id_of(badge_class_id, idempotency_key)

    async def work(uow: UnitOfWork) -> IssueResult:
        version = await uow.lock_stream(badge_class_id)
        badge = await _owned_badge(uow, organiser, badge_class_id)
        issuer = await read_models.issuer_name(uow.conn, badge.issuer_id)
        planned = [
            (r, offer_ids.for_issue(badge_class_id, idempotency_key, r.email)) for r in recipients
        ]
        existing = await read_models.existing_offer_ids(uow.conn, [o for _, o in planned])
        offered = decide_offers(
            badge,
            [(offer_id, r.email) for r, offer_id in planned],
            existing,
            now=now,
            issuer_name=issuer,
        )
        await _append(
            uow,
            list(offered),
            stream_id=badge_class_id,
            after=version,
            actor=organiser.actor,
            occurred_at=now,
            correlation_id=issue_id,
        )
        offers = [{"row": r.row, "email": r.email, "offer_id": offer_id} for r, offer_id in planned]
        return IssueResult(issue_id=issue_id, offers=offers, created=len(offered))

    return await runtime.execute(work)


async def _record_bulk_issue(
    uow: UnitOfWork, event: BulkIssueRequested | BulkIssueFinished, after: int, actor: str
) -> None:
    """Each of a bulk issue's facts once: its id follows from the issue and the kind, so a
    retried request or a second worker finds it applied."""
    await uow.emit(
        new_envelope(
            event,
            event_id=_bulk_issue_event_id(event.issue_id, type(event)),
            stream_id=event.badge_class_id,
            stream_version=after + 1,
            actor=actor,
            correlation_id=event.issue_id,
        )
    )


def _bulk_issue_event_id(
    issue_id: uuid.UUID, kind: type[BulkIssueRequested] | type[BulkIssueFinished]
) -> uuid.UUID:
    return uuid.uuid5(issue_id, kind.__name__)


async def bulk_issue_recorded(
    runtime: ServiceRuntime, badge_class_id: uuid.UUID, idempotency_key: str
) -> bool:
    """Whether a bulk issue under this key was recorded already (a retry of it)."""
    issue_id = issue_id_of(badge_class_id, idempotency_key)
    async with runtime.pool.acquire() as conn:
        return await read_models.bulk_issue(conn, badge_class_id, issue_id) is not None


async def request_bulk_issue(
    runtime: ServiceRuntime,
    organiser: Organiser,
    badge_class_id: uuid.UUID,
    idempotency_key: str,
    file: RecipientsFile,
    rows: int,
    rejected: list[RejectedRow],
    rejected_count: int,
) -> uuid.UUID:
    """Record a bulk issue to work through after the answer (see `BulkIssueRequested`): it is
    in Kafka before this returns, so a crash loses nothing accepted. Asked again with the same
    key, it is the same issue, recorded once."""
    issue_id = issue_id_of(badge_class_id, idempotency_key)

    async def work(uow: UnitOfWork) -> uuid.UUID:
        version = await uow.lock_stream(badge_class_id)
        badge = await _owned_badge(uow, organiser, badge_class_id)
        if not await uow.is_applied(_bulk_issue_event_id(issue_id, BulkIssueRequested)):
            check_issuing_open(badge)  # a retry of one recorded before the close is answered
        requested = BulkIssueRequested(
            issue_id=issue_id,
            badge_class_id=badge_class_id,
            organisation_id=organiser.organisation_id,
            organiser_id=organiser.organiser_id,
            idempotency_key=idempotency_key,
            file=file,
            rows=rows,
            rejected=tuple(rejected),
            rejected_count=rejected_count,
        )
        await _record_bulk_issue(uow, requested, version, organiser.actor)
        return issue_id

    return await runtime.execute(work)


async def finish_bulk_issue(
    runtime: ServiceRuntime,
    organiser: Organiser,
    badge_class_id: uuid.UUID,
    issue_id: uuid.UUID,
    offers: int,
    error: str | None = None,
) -> None:
    """Every offer of the bulk issue is made (or it stopped, with `error`); once."""

    async def work(uow: UnitOfWork) -> None:
        version = await uow.lock_stream(badge_class_id)
        finished = BulkIssueFinished(
            issue_id=issue_id, badge_class_id=badge_class_id, offers=offers, error=error
        )
        await _record_bulk_issue(uow, finished, version, organiser.actor)

    await runtime.execute(work)


async def offer_by_open_link(
    runtime: ServiceRuntime, badge_class_id: uuid.UUID, generation: int, email: str
) -> None:
    """Someone with the open link asks for the badge (see `decide_open_link_request`). The
    offer's id is random, so nothing public (the offer, its quest) follows from the address."""
    now = datetime.now(UTC)
    email = normalise_email(email)

    async def work(uow: UnitOfWork) -> None:
        version = await uow.lock_stream(badge_class_id)
        badge = await read_models.get_badge_class(uow.conn, badge_class_id)
        if badge is None:
            raise NotFound("This link does not lead to a badge.")
        # Refused links read nothing more (and answer the same whoever asks).
        check_open_link(badge, generation, now)
        history = await _open_link_history(uow, badge, generation, email, now)
        issuer = await read_models.issuer_name(uow.conn, badge.issuer_id)
        decided = decide_open_link_request(
            badge,
            history,
            generation=generation,
            email=email,
            now=now,
            offer_id=uuid.uuid4(),
            issuer_name=issuer,
        )
        await _append(uow, list(decided), stream_id=badge_class_id, after=version, actor="learner")

    await runtime.execute(work)


async def _open_link_history(
    uow: UnitOfWork, badge: BadgeClass, generation: int, email: str, now: datetime
) -> OpenLinkHistory:
    badge_class_id = badge.badge_class_id
    if await read_models.open_link_offer(uow.conn, badge_class_id, generation, email):
        # Asked before: nothing more is read, nothing is mailed again.
        return OpenLinkHistory(True, 0, None, False)
    held = await read_models.held_assertion_id(uow.conn, badge_class_id, email)
    return OpenLinkHistory(
        already_offered=False,
        taken=await read_models.open_link_taken(uow.conn, badge, now),
        held_assertion_id=held,
        holder_notified=held is not None
        and await read_models.holder_notified(uow.conn, badge_class_id, generation, email),
    )


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
        badge = await _owned_badge(uow, organiser, badge_class_id)
        invited = decide_peer_invites(badge, emails)
        await _append(
            uow, list(invited), stream_id=badge_class_id, after=version, actor=organiser.actor
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
        revoked = decide_revocation(assertion, reason)
        await _append(
            uow,
            list(revoked),
            stream_id=assertion.badge_class_id,
            after=version,
            actor=organiser.actor,
        )

    await runtime.execute(work)


async def request_resend(
    runtime: ServiceRuntime, organiser: Organiser, offer_id: uuid.UUID
) -> dict[str, Any]:
    """Appended as a fact (OfferResendRequested) under the badge's lock; the notifier mails
    the same claim link as a new email."""
    now = datetime.now(UTC)

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        offer = await read_models.get_offer(uow.conn, offer_id)
        if offer is None:
            raise NotFound("offer not found")
        version = await uow.lock_stream(offer.badge_class_id)
        badge = await read_models.get_badge_class(uow.conn, offer.badge_class_id)
        check_owner(badge, organiser.organisation_id, what="offer")
        # Read again under the badge's lock: a resend or a claim may have landed meanwhile.
        offer = await read_models.get_offer(uow.conn, offer_id)
        assert offer is not None
        resend = decide_resend(offer, now)
        await _append(
            uow,
            list(resend),
            stream_id=offer.badge_class_id,
            after=version,
            actor=organiser.actor,
            occurred_at=now,
        )
        return {"offer_id": str(offer_id), "email_status": "resending"}

    result: dict[str, Any] = await runtime.execute(work)
    return result
