"""Messages the badge service cannot use land on its dead-letter topic, and consumption goes on."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer

from contracts import encode
from tests.support import published_activity, wait_for


async def test_undecodable_messages_are_dead_lettered_and_the_next_event_still_applies(
    platform, organiser
):
    topic = platform.topic("activity.events")
    good = published_activity(
        "After the garbage", organisation_id=uuid.UUID(organiser["organisation_id"])
    )
    activity_id = good.stream_id
    unknown_type = encode(good).replace(b'"ActivityPublished"', b'"ActivityTeleported"')
    extra_field = encode(good).replace(b'"criteria":""', b'"criteria":"","colour":"red"')
    bad = [b"{not json", b"[]", unknown_type, extra_field]
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.infra.kafka_bootstrap_servers, acks="all"
    )
    await producer.start()
    try:
        # Same key as the good event: same partition, so the garbage comes first in its order.
        for value in bad:
            await producer.send_and_wait(topic, value, key=str(activity_id).encode())
        await producer.send_and_wait(topic, encode(good), key=str(activity_id).encode())
    finally:
        await producer.stop()

    async def badge_made():
        return await platform.query(
            "badge", "SELECT name FROM badge_classes WHERE source_id = $1", activity_id
        )

    assert (await wait_for(badge_made))[0]["name"] == "After the garbage"

    async def dead_letters():
        records = await platform.read_topic("badge.dead-letter", raw=True)
        return records if len(records) >= len(bad) else None

    records = await wait_for(dead_letters)
    assert [record.value for record in records] == bad
    errors = [dict(record.headers)["error"].decode() for record in records]
    assert errors[0].startswith("undecodable: not JSON")
    assert "must be a JSON object" in errors[1]
    assert "unknown event type 'ActivityTeleported'" in errors[2]
    assert "colour" in errors[3]
    assert all(dict(record.headers)["source.topic"].decode() == topic for record in records)
