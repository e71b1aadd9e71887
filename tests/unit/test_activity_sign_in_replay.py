"""A sign-in ask is decided from the organisers as they were when it was asked: replayed later
(a rebuild re-decides an ask that reached nobody, since nothing in the log answers it), it
reaches nobody added since, and an ask whose links would have expired reaches nobody at all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts import new_envelope
from contracts.activity import (
    OrganisationCreated,
    OrganiserAdded,
    OrganiserSignInAsked,
    OrganiserSignInRequested,
)
from services.activity.adapters.in_memory import InMemoryActivity
from services.activity.domain.sign_in import SIGN_IN_LINK_LIFETIME
from services.activity.policies import SignInPolicies

ORG = uuid.uuid4()
ASKED_AT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _add(service: InMemoryActivity, email: str, at: datetime) -> uuid.UUID:
    organiser_id = uuid.uuid4()
    added = OrganiserAdded(organiser_id=organiser_id, organisation_id=ORG, name="X", email=email)
    envelope = new_envelope(
        added, stream_id=organiser_id, stream_version=1, actor="t", occurred_at=at
    )
    assert await service.uow.receive(envelope)
    return organiser_id


def _ask(email: str) -> object:
    ask_id = uuid.uuid4()
    return new_envelope(
        OrganiserSignInAsked(ask_id=ask_id, email=email),
        stream_id=ask_id,
        stream_version=1,
        actor="t",
        occurred_at=ASKED_AT,
    )


async def _links(service: InMemoryActivity, policy: SignInPolicies, ask: object) -> set[uuid.UUID]:
    before = len(service.uow.emitted)
    await policy.link_sign_in_ask(service.uow, ask)  # type: ignore[arg-type]
    return {
        e.payload.organiser_id
        for e in service.uow.emitted[before:]
        if isinstance(e.payload, OrganiserSignInRequested)
    }


async def test_an_organiser_added_after_an_ask_is_not_reached_by_its_replay():
    service = InMemoryActivity()
    created = OrganisationCreated(
        organisation_id=ORG, name="R", url="https://r.example.org", email="hello@r.example.org"
    )
    assert await service.uow.receive(
        new_envelope(created, stream_id=ORG, stream_version=1, actor="t", occurred_at=ASKED_AT)
    )
    ana = await _add(service, "ana@r.example.org", ASKED_AT - timedelta(days=1))
    clock = Clock(ASKED_AT + timedelta(seconds=1))
    policy = SignInPolicies(service.state.of, clock=clock)
    ask_for_bo, ask_for_ana = _ask("bo@r.example.org"), _ask("ana@r.example.org")

    # Decided as it arrives: Bo is no organiser yet, Ana is.
    assert await _links(service, policy, ask_for_bo) == set()
    assert await _links(service, policy, ask_for_ana) == {ana}

    # Bo is added a moment later; the ask for Bo's address is decided again (a replay).
    await _add(service, "bo@r.example.org", ASKED_AT + timedelta(seconds=30))
    clock.now = ASKED_AT + timedelta(minutes=2)
    assert await _links(service, policy, ask_for_bo) == set(), "a replay mailed a new link"


async def test_an_ask_decided_after_its_links_would_expire_reaches_nobody():
    service = InMemoryActivity()
    ana = await _add(service, "ana@r.example.org", ASKED_AT - timedelta(days=1))
    clock = Clock(ASKED_AT + SIGN_IN_LINK_LIFETIME - timedelta(seconds=1))
    policy = SignInPolicies(service.state.of, clock=clock)
    assert await _links(service, policy, _ask("ana@r.example.org")) == {ana}
    clock.now = ASKED_AT + SIGN_IN_LINK_LIFETIME
    assert await _links(service, policy, _ask("ana@r.example.org")) == set()
