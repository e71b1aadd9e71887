"""A log written when playlist awards were numbered from the learner's email keeps those ids:
neither the running service nor a rebuild awards the playlist badge again under the new ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts import derived_envelope, encode, new_envelope
from contracts.badge import BadgeAwarded, ClaimRequested
from contracts.envelope import NAMESPACE
from tests.support import envelopes_of
from tests.support_flows import claim_by_email as _claim_by_email
from tests.support_flows import playlist_badge as _playlist_badge
from tests.support_flows import unique_email as _unique


def _legacy_award(
    badge: dict, email: str, assertion_id: uuid.UUID, reason: str, at: datetime
) -> BadgeAwarded:
    return BadgeAwarded(
        assertion_id=assertion_id,
        badge_class_id=uuid.UUID(badge["id"]),
        issuer_id=uuid.UUID(badge["issuer_id"]),
        reason=reason,
        recipient_email=email,
        recipient_salt=uuid.uuid4().hex,
        issued_on=at,
        badge_name=badge["name"],
        issuer_name="Riverside Youth Centre",
    )


async def _versions(platform, *stream_ids: str) -> dict[str, int]:
    rows = await platform.query(
        "badge",
        "SELECT stream_id, version FROM stream_versions WHERE stream_id = ANY($1::uuid[])",
        [uuid.UUID(s) for s in stream_ids],
    )
    return {str(row["stream_id"]): row["version"] for row in rows}


async def test_a_log_with_playlist_awards_numbered_the_old_way_replays_without_a_second_award(
    http, platform, organiser, infra
):
    (first, second), trail = await _playlist_badge(http, platform, organiser, "Old trail")
    learner = _unique("old-log")
    await _claim_by_email(http, platform, organiser, infra, first, learner)
    await platform.caught_up("badge", "badge.events")

    # What an earlier version wrote when the learner's second badge completed the playlist:
    # the award, then the playlist award numbered from the email, caused by it.
    platform.stop("badge")
    versions = await _versions(platform, second["id"], trail["id"])
    at = datetime.now(UTC)
    request = new_envelope(
        ClaimRequested(
            offer_id=uuid.uuid4(), badge_class_id=uuid.UUID(second["id"]), request_id=uuid.uuid4()
        ),
        stream_id=uuid.UUID(second["id"]),
        stream_version=1,
        actor="learner",
    )
    award_id = uuid.uuid4()
    award = derived_envelope(
        _legacy_award(second, learner, award_id, "claim", at),
        request,
        event_id=award_id,
        stream_id=uuid.UUID(second["id"]),
        stream_version=versions.get(second["id"], 0) + 1,
        actor="service:badge",
    )
    legacy_id = uuid.uuid5(NAMESPACE, f"playlist-award:{trail['id']}:{learner}")
    playlist_award = derived_envelope(
        _legacy_award(trail, learner, legacy_id, "playlist", at),
        award,
        event_id=legacy_id,
        stream_id=uuid.UUID(trail["id"]),
        stream_version=versions.get(trail["id"], 0) + 1,
        actor="service:badge",
    )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        for envelope in (award, playlist_award):
            await producer.send_and_wait(
                platform.topic("badge.events"),
                encode(envelope),
                key=str(envelope.stream_id).encode(),
                headers=[
                    ("event_id", str(envelope.event_id).encode()),
                    ("event_type", envelope.event_type.encode()),
                ],
            )
    finally:
        await producer.stop()

    async def playlist_awards() -> tuple[list[uuid.UUID], int]:
        rows = await platform.query(
            "badge",
            "SELECT assertion_id FROM assertions WHERE badge_class_id = $1",
            uuid.UUID(trail["id"]),
        )
        events = [
            e
            for e in envelopes_of(await platform.read_topic("badge.events"), "BadgeAwarded")
            if str(e.payload.badge_class_id) == trail["id"]
        ]
        return [row["assertion_id"] for row in rows], len(events)

    platform.start("badge")
    platform.wait_healthy("badge")
    await platform.caught_up("badge", "badge.events")
    assert await playlist_awards() == ([legacy_id], 1)

    platform.stop("badge")
    ends = await platform.end_offsets("badge.events")
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{platform.schema("badge")}" CASCADE')
    finally:
        await conn.close()
    platform.run("badge", "rebuild")
    assert await platform.end_offsets("badge.events") == ends, "the rebuild appended events"
    assert await playlist_awards() == ([legacy_id], 1)
    platform.start("badge")
    platform.wait_healthy("badge")
