"""Issue 14 item 4 (and issue 8 item 15): an email outcome applied while its offer's request
is still committing must not be lost; `verify` finds the live offers equal to a rebuild.

The offer's row is written by the request's transaction, which appends BadgeOffered to Kafka
and only then commits. In that window the notifier can mail the offer and record EmailSent,
and the badge consumer applies EmailSent in a transaction of its own, which cannot see the
uncommitted offer: its update of the offer's row found nothing, and the outcome was lost for
good (recorded as applied). The test holds the request exactly in that window.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts import Envelope, encode, new_envelope
from contracts.notifier import EmailSent
from services.badge import service_layer
from services.badge.adapters import read_models
from services.badge.app import build_runtime
from services.badge.domain.model import OfferIds, badge_class_id_for
from services.badge.settings import BadgeSettings
from services.kernel import store
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork, run_unit_of_work
from services.organiser_access import Organiser
from tests.support import created_organisation, published_activity

pytestmark = pytest.mark.integration


async def _append(servers: str, topic: str, *envelopes: Envelope[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(
                topic, encode(envelope), key=str(envelope.stream_id).encode()
            )
    finally:
        await producer.stop()


def _hold_before_commit(runtime: ServiceRuntime, flushed: asyncio.Event, release: asyncio.Event):
    """Requests run as always, but wait after Kafka has their events, before they commit."""

    async def execute(work: Any) -> Any:
        assert runtime._write_pool is not None

        async def held(uow: UnitOfWork) -> Any:
            result = await work(uow)
            await uow.flush()  # the row is written and the event is in Kafka
            flushed.set()
            await release.wait()
            return result

        return await run_unit_of_work(
            runtime._write_pool, runtime.publisher, runtime.handlers, runtime.spec.own_topic, held
        )

    return execute


async def test_email_outcome_applied_before_its_offer_commits_is_kept(infra, tmp_path):
    settings = infra.kernel_settings()
    runtime = build_runtime(settings, BadgeSettings(BADGE_BLOB_DIR=str(tmp_path / "blobs")))
    await runtime.open()
    try:
        organisation_id, activity_id = uuid.uuid4(), uuid.uuid4()
        await _append(
            infra.kafka_bootstrap_servers,
            settings.topic("activity.events"),
            created_organisation("Riverside", organisation_id),
            published_activity(
                "Urban gardening",
                organisation_id=organisation_id,
                activity_id=activity_id,
                description="Grow food",
                criteria="Plant three seeds",
            ),
        )
        await runtime.consumer.catch_up([settings.topic("activity.events")])
        badge_id = badge_class_id_for(activity_id)

        offer_ids = OfferIds("a server secret for this test's offer ids")
        flushed, release = asyncio.Event(), asyncio.Event()
        runtime.execute = _hold_before_commit(runtime, flushed, release)  # type: ignore[method-assign]
        organiser = Organiser(organiser_id=uuid.uuid4(), organisation_id=organisation_id)
        request = asyncio.create_task(
            service_layer.offer_to_emails(
                runtime,
                organiser,
                badge_id,
                [service_layer.Recipient(row=1, email="learner@example.org")],
                idempotency_key="one",
                offer_ids=offer_ids,
            )
        )
        await asyncio.wait_for(flushed.wait(), 30)
        offer_id = offer_ids.for_issue(badge_id, "one", "learner@example.org")
        async with runtime.pool.acquire() as conn:
            # BadgeOffered is in Kafka, the offer's row not committed yet: others do not see it.
            assert not await read_models.existing_offer_ids(conn, [offer_id])

        # Meanwhile the notifier mails the offer and records it; the badge consumer applies it.
        sent = new_envelope(
            EmailSent(
                cause_event_id=offer_id,
                kind="offer",
                recipient="learner@example.org",
                subject="Your badge",
                attempts=1,
                offer_id=offer_id,
            ),
            stream_id=offer_id,
            stream_version=1,
            actor="service:notifier",
        )
        await _append(infra.kafka_bootstrap_servers, settings.topic("notifier.events"), sent)
        await asyncio.wait_for(runtime.consumer.catch_up([settings.topic("notifier.events")]), 30)
        async with runtime.pool.acquire() as conn:
            assert await conn.fetchval(
                "SELECT true FROM applied_events WHERE event_id = $1", sent.event_id
            ), "the consumer recorded EmailSent as applied"

        release.set()
        result = await asyncio.wait_for(request, 30)
        assert result.created == 1

        async with runtime.pool.acquire() as conn:
            (row,) = await read_models.list_offers(conn, badge_id)
        assert (row["email_status"], row["email_attempts"]) == ("sent", 1), (
            f"the EmailSent outcome was lost: {row}"
        )

        # And the live read models equal a rebuild of the log, row for row.
        await runtime.consumer.catch_up([settings.topic("badge.events")])
        report = await runtime.verify(rounds=1, settle_seconds=10)
        assert report.same, report.differences
        assert report.tables["offers"] == {"live": 1, "rebuilt": 1, "differing": 0}
    finally:
        await runtime.close()
        await store.drop_schema(infra.database_url, runtime.schema)
