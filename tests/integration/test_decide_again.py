"""An upgrade that adds a policy on events the service was already reading: `decide-again`
makes the decisions those events never had, once, and a rebuild keeps them.

The case it was made for: the badge service did not react to `PlaylistArchived` before, so a
playlist archived then still has a badge open for issuing. Here the older version is the
badge service's handlers without that policy, on real Kafka and PostgreSQL.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts import Envelope, encode, new_envelope
from contracts.activity import TOPIC as ACTIVITY_TOPIC
from contracts.activity import PlaylistArchived, PlaylistPublished
from services.badge.adapters.read_models import PostgresBadgeStates
from services.badge.app import SPEC
from services.badge.domain.model import badge_class_id_for
from services.badge.handlers import build_handlers, credential_projections, policies, projections
from services.badge.policies import Policies
from services.kernel.blob_store import BlobStore
from services.kernel.handlers import Handlers
from services.kernel.runtime import ServiceRuntime
from tests.support import published_activity


def _failing_on(playlists: set[uuid.UUID]) -> Handlers:
    """A bug both versions have: a projection that keeps failing on the archives of these
    playlists, so the service dead-letters them."""

    async def broken(uow: Any, envelope: Envelope[PlaylistArchived]) -> None:
        if envelope.payload.playlist_id in playlists:
            raise RuntimeError("a bug in the projection")

    return Handlers().project(PlaylistArchived, broken)


def _without_archive_policy(blobs: BlobStore) -> Handlers:
    """The badge service as it was before it closed an archived playlist's badge."""
    every = policies(Policies(PostgresBadgeStates.of, blobs))
    older = projections().include(credential_projections())
    for event_type in every.event_types():
        if event_type is not PlaylistArchived:
            older.react(event_type, *every.policies_for(event_type))
    return older


def _playlist(organisation_id: uuid.UUID, activity_id: uuid.UUID) -> list[Envelope[Any]]:
    playlist_id = uuid.uuid4()
    content = {"playlist_id": playlist_id, "organisation_id": organisation_id}
    published = PlaylistPublished(
        **content, title="Trail", description="", activity_ids=(activity_id,)
    )
    return [
        new_envelope(published, stream_id=playlist_id, stream_version=1, actor="test"),
        new_envelope(
            PlaylistArchived(**content), stream_id=playlist_id, stream_version=2, actor="test"
        ),
    ]


async def _closed(runtime: ServiceRuntime, playlist_id: uuid.UUID) -> bool:
    closed_at = await runtime.pool.fetchval(
        "SELECT issuing_closed_at FROM badge_classes WHERE badge_class_id = $1",
        badge_class_id_for(playlist_id),
    )
    return closed_at is not None


async def test_an_upgrade_decides_what_the_older_version_never_did(infra, tmp_path: Path):
    settings = infra.kernel_settings(2)
    blobs = BlobStore(tmp_path)
    activities = settings.topic(ACTIVITY_TOPIC)
    organisation_id = uuid.uuid4()
    activity = published_activity("Knots", organisation_id=organisation_id)
    archived_before, archived_after, dead_lettered = (
        _playlist(organisation_id, activity.stream_id) for _ in range(3)
    )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    failing = {dead_lettered[0].stream_id}
    older = ServiceRuntime(
        SPEC, settings, _without_archive_policy(blobs).include(_failing_on(failing))
    )
    await older.open()
    try:
        own = older.consumer.config.own_topic
        await older.consumer.catch_up([own])  # makes the topics
        for envelope in (activity, *archived_before, *dead_lettered):
            await producer.send_and_wait(
                activities, encode(envelope), key=str(envelope.stream_id).encode()
            )
        await older.consumer.catch_up([activities])
        await older.consumer.catch_up([own])
        before = archived_before[0].stream_id
        assert not await _closed(older, before)
        assert older.consumer.dead_lettered == 1
    finally:
        await older.close()

    # Published while the service is stopped for its upgrade: the consumer decides these.
    for envelope in archived_after:
        await producer.send_and_wait(
            activities, encode(envelope), key=str(envelope.stream_id).encode()
        )
    await producer.stop()

    upgraded = ServiceRuntime(SPEC, settings, build_handlers(blobs).include(_failing_on(failing)))
    await upgraded.open()
    try:
        with pytest.raises(ValueError, match="no policy on OrganiserAdded"):
            await upgraded.decide_again(["OrganiserAdded"])
        with pytest.raises(ValueError, match="not an input"):
            await upgraded.decide_again(["BadgeAwarded"])

        report = await upgraded.decide_again(["PlaylistArchived"])
        # Only what was applied: the playlist archived during the upgrade waits its turn, and
        # the archive the older version dead-lettered (it changed nothing then) is passed over.
        assert report == {"event_types": ["PlaylistArchived"], "decided_again": 1, "appended": 1}
        assert await _closed(upgraded, before)
        assert not await _closed(upgraded, dead_lettered[0].stream_id)
        after = archived_after[0].stream_id
        assert not await _closed(upgraded, after)
        again = await upgraded.decide_again(["PlaylistArchived"])
        assert again["decided_again"] == 1 and again["appended"] == 0, "closed twice"

        await upgraded.consumer.catch_up([own])
        await upgraded.consumer.catch_up([activities])
        await upgraded.consumer.catch_up([own])
        assert await _closed(upgraded, after)
        live = await upgraded.checksum()

        await upgraded.rebuild()
        assert await _closed(upgraded, before) and await _closed(upgraded, after)
        assert await upgraded.checksum() == live
    finally:
        await upgraded.close()
