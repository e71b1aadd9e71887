"""A rebuild replays what the service had decided and decides only what it had not.

A decision that left nothing in the log (a new badge that nobody holds yet: no award) has no
trace that says it was made. Decided again in a rebuild, it would read state replayed in
another order than the one it was decided on (the own log before the inputs, partitions one
after another) and could decide otherwise: award a playlist badge twice, or dead-letter its
creation. The stored offsets, read before the schema is emptied, say what was decided.
"""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaProducer

from contracts import Envelope, encode
from contracts.activity import TOPIC as ACTIVITY_TOPIC
from contracts.activity import OrganisationCreated
from contracts.badge import BadgeClassCreated
from services.badge.app import SPEC
from services.badge.handlers import build_handlers
from services.kernel import store
from services.kernel.blob_store import BlobStore
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork
from tests.support import created_organisation, published_activity


async def test_a_rebuild_decides_again_only_what_was_never_decided(infra, tmp_path: Path):
    settings = infra.kernel_settings(2)
    # Which activities' new badges were decided on: a policy beside the badge service's own,
    # on an event whose decision here leaves nothing in the log.
    decided: list[str] = []

    async def on_badge_created(_: UnitOfWork, event: Envelope[BadgeClassCreated]) -> None:
        decided.append(event.payload.name)

    # And one that refuses an organisation: its record is dead-lettered, and changes nothing.
    async def refuse(_: UnitOfWork, event: Envelope[OrganisationCreated]) -> None:
        raise ValueError(f"{event.payload.name} is refused")

    handlers = (
        build_handlers(BlobStore(tmp_path))
        .react(BadgeClassCreated, on_badge_created)
        .react(OrganisationCreated, refuse)
    )
    runtime = ServiceRuntime(SPEC, settings, handlers)
    activities = settings.topic(ACTIVITY_TOPIC)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    await runtime.open()
    try:
        own = runtime.consumer.config.own_topic
        await runtime.consumer.catch_up([own])  # makes the topics
        await producer.send_and_wait(activities, encode(created_organisation("Refused")))
        await producer.send_and_wait(activities, encode(published_activity("Decided")))
        await runtime.consumer.catch_up([activities])
        await runtime.consumer.catch_up([own])
        assert decided == ["Decided"]
        assert runtime.consumer.dead_lettered == 1
        live = await runtime.checksum()

        # Published while the service is stopped: not decided yet.
        await runtime.close()
        await producer.send_and_wait(activities, encode(published_activity("Undecided")))

        decided.clear()
        await runtime.rebuild()
        assert decided == ["Undecided"], "the rebuild decided again what was decided"
        names = {
            row["name"]: row["n"]
            for row in await runtime.pool.fetch(
                "SELECT name, count(*) AS n FROM badge_classes GROUP BY name"
            )
        }
        assert names == {"Decided": 1, "Undecided": 1}
        # The refused organisation is refused again (replayed as it was first applied), not
        # taken for decided and projected.
        assert await runtime.pool.fetchval("SELECT count(*) FROM issuers") == 0
        assert runtime.consumer.dead_lettered == 1

        # Rebuilt again, the same: both are decided now, nothing is decided again.
        decided.clear()
        rebuilt = await runtime.checksum()
        await runtime.rebuild()
        assert decided == []
        assert await runtime.checksum() == rebuilt != live

        # A schema lost altogether says nothing of what was decided: every decision whose
        # outcome is not in the log is made again (each was, and is deduplicated by its id).
        await runtime.close()
        await store.drop_schema(settings.database_url, runtime.schema)
        decided.clear()
        await runtime.rebuild()
        assert sorted(decided) == ["Decided", "Undecided"]
        assert await runtime.checksum() == rebuilt
    finally:
        await runtime.close()
        await producer.stop()
