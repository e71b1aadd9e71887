"""kill -9 of the badge service mid-burst: after a restart every activity has exactly one badge."""

from __future__ import annotations

import asyncio
import collections
import uuid

from aiokafka import AIOKafkaProducer

from contracts import encode
from tests.support import envelopes_of, published_activity, wait_for

BURST = 1_500


async def test_badge_service_killed_during_a_burst_makes_each_badge_exactly_once(
    platform, organiser
):
    organisation_id = uuid.UUID(organiser["organisation_id"])
    published = [
        published_activity(f"Burst activity {n}", organisation_id=organisation_id)
        for n in range(BURST)
    ]
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.infra.kafka_bootstrap_servers, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        sent = [
            await producer.send(
                platform.topic("activity.events"), encode(e), key=str(e.stream_id).encode()
            )
            for e in published
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()

    async def some_badges():
        rows = await platform.query("badge", "SELECT count(*) AS n FROM badge_classes")
        return rows[0]["n"] >= 50

    await wait_for(some_badges, interval=0.005)
    platform.kill("badge")
    at_kill = (await platform.query("badge", "SELECT count(*) AS n FROM badge_classes"))[0]["n"]
    assert at_kill < BURST, "the burst finished before the kill; make it larger"

    platform.start("badge")
    platform.wait_healthy("badge")
    await platform.caught_up("badge", "activity.events", timeout=120)

    rows = await platform.query(
        "badge",
        "SELECT source_id, count(*) AS n FROM badge_classes WHERE source_id = ANY($1::uuid[]) "
        "GROUP BY source_id",
        [e.stream_id for e in published],
    )
    assert len(rows) == BURST, f"{BURST - len(rows)} activities have no badge"
    assert all(row["n"] == 1 for row in rows)

    created = envelopes_of(await platform.read_topic("badge.events"), "BadgeClassCreated")
    ids_per_activity = collections.defaultdict(set)
    for event in created:
        ids_per_activity[event.payload.source_id].add(event.event_id)
    mine = {e.stream_id for e in published}
    # A record may be appended twice inside the crash window, but always with the same id:
    # to every consumer it is one BadgeClass.
    assert all(len(ids_per_activity[a]) == 1 for a in mine)
    print(
        f"\ncrash test: killed at {at_kill}/{BURST} badges; BadgeClassCreated records "
        f"{sum(1 for e in created if e.payload.source_id in mine)} for {BURST} activities"
    )
    # The live read models equal a rebuild of the log (issue 14 item 4).
    assert '"same": true' in platform.run("badge", "verify")
