"""The handler registry and the in-memory unit of work the services' policy tests run on."""

from __future__ import annotations

import uuid
from typing import Any

from contracts import Envelope, new_envelope
from contracts.activity import OrganisationCreated
from services.kernel.handlers import Handlers
from services.kernel.in_memory import InMemoryUnitOfWork
from services.kernel.unit_of_work import UnitOfWork


def organisation_created() -> Envelope[OrganisationCreated]:
    organisation_id = uuid.uuid4()
    return new_envelope(
        OrganisationCreated(
            organisation_id=organisation_id, name="Riverside", url="https://r.example", email=""
        ),
        stream_id=organisation_id,
        stream_version=1,
        actor="test",
    )


async def test_projections_run_before_policies_and_including_never_replaces() -> None:
    calls: list[str] = []

    def record(name: str) -> Any:
        async def handle(uow: UnitOfWork, envelope: Envelope[OrganisationCreated]) -> None:
            calls.append(name)

        return handle

    keys = Handlers().project(OrganisationCreated, record("keys projection"))
    handlers = (
        Handlers()
        .react(OrganisationCreated, record("policy"))
        .project(OrganisationCreated, record("projection"))
        .include(keys)
    )
    uow = InMemoryUnitOfWork(handlers, own_topic="activity.events")
    event = organisation_created()

    assert await uow.receive(event)
    assert not await uow.receive(event)  # once per id

    assert calls == ["projection", "keys projection", "policy"]
    assert uow.versions == {event.stream_id: 1}
