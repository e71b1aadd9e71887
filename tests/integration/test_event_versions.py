"""Events evolve, the log does not: activities gained dates and a place (schema version 2), then
a language, a picture, a sign-up link and online (version 3), and a log holding version 1 and
version 2 events, as the old code stored them, and version 3 events rebuilds to the same state
as a log that only ever held version 3."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pydantic import TypeAdapter

from contracts import decode, encode
from services.kernel.topics import ensure_topics
from tests.support import Platform, bearer

V1_SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples" / "v1"
V2_SAMPLES = V1_SAMPLES.parent / "v2"
REBUILT = ("activity", "badge")  # badge makes its badges from ActivityPublished
CONTENT_EVENTS = ("ActivityDrafted", "ActivityUpdated", "ActivityPublished")  # version 3
CURRENT = 3
OLD_ACTIVITIES = 12
V2_ACTIVITIES = 4  # written by the code of version 2: dates and a place, nothing of version 3


def _renamed_by_old_code(n: int) -> bool:
    return n % 3 == 1


def _published_by_old_code(n: int) -> bool:
    return n % 2 == 0


def _published_by_new_code(n: int) -> bool:
    return not _published_by_old_code(n) and n % 3 != 0


def _placed_by_new_code(n: int) -> bool:
    return n % 4 in (0, 1)


PLACE = {
    "name": "Riverside community garden",
    "address": "12 Mill Lane, Leeds",
    "latitude": 53.7997,
    "longitude": -1.5492,
}


async def test_an_activity_has_dates_and_a_place_that_an_update_changes_or_empties(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    activities = f"{platform.url('activity')}/v1/activities"
    created = await http.post(
        activities,
        headers=bearer(organiser),
        json={
            "title": "Spring planting day",
            "starts_at": "2027-04-17T10:00:00+02:00",
            "ends_at": "2027-04-17T16:30:00+02:00",
            "place": PLACE,
        },
    )
    assert created.status_code == 201, created.text
    activity = created.json()
    assert activity["starts_at"] == "2027-04-17T08:00:00Z"
    assert activity["ends_at"] == "2027-04-17T14:30:00Z"
    assert activity["place"] == PLACE
    one = f"{activities}/{activity['id']}"
    assert (await http.get(one, headers=bearer(organiser))).json() == activity

    moved = await http.patch(
        one, headers=bearer(organiser), json={"ends_at": None, "place": {"name": "Village hall"}}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_at"] == activity["starts_at"]
    assert moved.json()["ends_at"] is None
    assert moved.json()["place"] == {
        "name": "Village hall",
        "address": None,
        "latitude": None,
        "longitude": None,
    }
    assert (await http.get(one, headers=bearer(organiser))).json() == moved.json()

    # Bad input is refused and changes nothing.
    backwards = await http.patch(
        one, headers=bearer(organiser), json={"ends_at": "2027-04-17T07:00:00Z"}
    )
    assert backwards.status_code == 400, backwards.text
    assert "cannot end before it starts" in backwards.json()["error"]
    for refused in (
        {"place": {"name": "Hall", "latitude": 53.8}},
        {"place": {"name": "Hall", "latitude": 91, "longitude": 0}},
        {"starts_at": "2027-04-17T10:00:00"},  # no zone
        {"starts_at": 0},  # a number, not a date
        {"title": None},  # null still empties nothing where it is no value
    ):
        answer = await http.patch(one, headers=bearer(organiser), json=refused)
        assert answer.status_code == 422, (refused, answer.text)
    assert (await http.get(one, headers=bearer(organiser))).json() == moved.json()

    plain = await http.post(activities, headers=bearer(organiser), json={"title": "Anytime"})
    assert plain.status_code == 201, plain.text
    assert (plain.json()["starts_at"], plain.json()["ends_at"], plain.json()["place"]) == (
        None,
        None,
        None,
    )


def _v1(
    event_type: str,
    *,
    stream_id: uuid.UUID,
    stream_version: int,
    samples: Path = V1_SAMPLES,
    **payload: Any,
) -> bytes:
    """An envelope of an old shape, byte for byte as the old `encode` wrote it: the committed
    sample (version 1, or that of `samples`) with this event's ids, times and content in it."""
    document = json.loads((samples / "activity.events" / f"{event_type}.json").read_bytes())
    version = int(samples.name.removeprefix("v"))
    assert document["schema_version"] == version and set(document["payload"]) == set(payload)
    document.update(
        event_id=str(uuid.uuid4()),
        stream_id=str(stream_id),
        stream_version=stream_version,
        occurred_at=json.loads(TypeAdapter(datetime).dump_json(datetime.now(UTC))),
        causation_id=None,
        correlation_id=None,
        actor="organiser:old-code",
    )
    document["payload"] = {
        key: str(payload[key]) if isinstance(payload[key], uuid.UUID) else payload[key]
        for key in document["payload"]
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


async def _append_old_events(platform: Platform, organisation_id: uuid.UUID) -> list[uuid.UUID]:
    """Activities written by the old code: drafted, some renamed, some published."""
    activity_ids = [uuid.uuid4() for _ in range(OLD_ACTIVITIES)]
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.infra.kafka_bootstrap_servers, acks="all"
    )
    await producer.start()
    try:
        for n, activity_id in enumerate(activity_ids):
            content: dict[str, Any] = dict(
                activity_id=activity_id,
                organisation_id=organisation_id,
                title=f"Old activity {n}",
                description="Written before activities had dates",
                criteria="Take part",
            )
            kinds = ["ActivityDrafted"]
            if _renamed_by_old_code(n):
                kinds.append("ActivityUpdated")
                content["title"] = f"Renamed old activity {n}"
            if _published_by_old_code(n):
                kinds.append("ActivityPublished")
            for version, kind in enumerate(kinds, start=1):
                raw = _v1(kind, stream_id=activity_id, stream_version=version, **content)
                headers = [
                    ("event_id", json.loads(raw)["event_id"].encode()),
                    ("event_type", kind.encode()),
                ]
                await producer.send_and_wait(
                    platform.topic("activity.events"),
                    raw,
                    key=str(activity_id).encode(),
                    headers=headers,
                )
        for n in range(V2_ACTIVITIES):
            activity_id = uuid.uuid4()
            activity_ids.append(activity_id)
            content = dict(
                activity_id=activity_id,
                organisation_id=organisation_id,
                title=f"Version 2 activity {n}",
                description="Written when activities had dates, before they had a language",
                criteria="Take part",
                starts_at=None,
                ends_at=None,
                place=PLACE,
            )
            kinds = ["ActivityDrafted", "ActivityUpdated"]
            if n % 2 == 0:
                kinds.append("ActivityPublished")
            for version, kind in enumerate(kinds, start=1):
                if kind == "ActivityUpdated":
                    content |= {"starts_at": "2027-05-01T09:00:00Z"}
                raw = _v1(
                    kind,
                    stream_id=activity_id,
                    stream_version=version,
                    samples=V2_SAMPLES,
                    **content,
                )
                headers = [
                    ("event_id", json.loads(raw)["event_id"].encode()),
                    ("event_type", kind.encode()),
                ]
                await producer.send_and_wait(
                    platform.topic("activity.events"),
                    raw,
                    key=str(activity_id).encode(),
                    headers=headers,
                )
    finally:
        await producer.stop()
    return activity_ids


async def _continue_with_new_code(
    http: httpx.AsyncClient, platform: Platform, who: dict[str, str], old: list[uuid.UUID]
) -> None:
    """The new code goes on where the old stopped: dates and places for old activities,
    publishing old drafts, and new activities with dates."""
    activities = f"{platform.url('activity')}/v1/activities"
    when = {"starts_at": "2027-05-01T09:00:00Z", "ends_at": "2027-05-01T12:00:00Z"}
    for n, activity_id in enumerate(old):
        one = f"{activities}/{activity_id}"
        if _placed_by_new_code(n):
            answer = await http.patch(one, headers=bearer(who), json={**when, "place": PLACE})
            assert answer.status_code == 200, answer.text
        if _published_by_new_code(n):
            answer = await http.post(f"{one}/publish", headers=bearer(who))
            assert answer.status_code == 200, answer.text
    for n in range(6):
        created = await http.post(
            activities,
            headers=bearer(who),
            json={"title": f"New activity {n}", **(when if n % 2 else {"place": PLACE})},
        )
        assert created.status_code == 201, created.text
        if n % 3 != 2:
            answer = await http.post(
                f"{activities}/{created.json()['id']}/publish", headers=bearer(who)
            )
            assert answer.status_code == 200, answer.text


async def _versions(platform: Platform) -> dict[str, set[int]]:
    """Event type -> the schema versions the activity log holds of it."""
    found: dict[str, set[int]] = collections.defaultdict(set)
    for record in await platform.read_topic("activity.events", raw=True):
        document = json.loads(record.value)
        found[document["event_type"]].add(document["schema_version"])
    return found


def _as_version_2(raw: bytes) -> bytes:
    """What the new code writes for the same fact: an activity's content event of version 1
    or 2, written out by hand in the shape of version 3 (version 1: no dates, no place; both:
    not online, no language, picture or sign-up link); anything else as is."""
    document = json.loads(raw)
    if document["event_type"] not in CONTENT_EVENTS or document["schema_version"] == CURRENT:
        return raw
    if document["schema_version"] == 1:
        document["payload"] |= {"starts_at": None, "ends_at": None, "place": None}
    document["schema_version"] = CURRENT
    document["payload"] |= {"online": False, "language": None, "image": None, "signup_url": None}
    rewritten = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    assert rewritten == encode(decode(raw))  # the upcasters say the same
    return rewritten


async def _copy_as_version_2(source: Platform, target: Platform) -> None:
    """Every event of every log of `source` into the same partition of `target`'s logs, in
    the same order, the version 1 ones as version 2: the log of a platform that only ever
    ran the new code."""
    await ensure_topics(target.settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=source.infra.kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for topic in ("activity.events", "badge.events", "evidence.events", "notifier.events"):
            sent = [
                await producer.send(
                    target.topic(topic),
                    _as_version_2(record.value),
                    key=record.key,
                    partition=record.partition,
                    headers=list(record.headers),
                )
                for record in await source.read_topic(topic, raw=True)
            ]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def test_a_log_of_v1_and_v2_events_rebuilds_to_the_state_of_a_log_of_v2_only(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    old = await _append_old_events(platform, uuid.UUID(organiser["organisation_id"]))
    await platform.caught_up("activity", "activity.events")
    await _continue_with_new_code(http, platform, organiser, old[:OLD_ACTIVITIES])
    await platform.caught_up("badge", "activity.events")
    for service in REBUILT:
        await platform.caught_up(service, f"{service}.events")

    versions = await _versions(platform)
    for kind in CONTENT_EVENTS:
        assert versions[kind] == {1, 2, CURRENT}, (kind, versions[kind])
    # The old events were read: the old published activities have badges.
    made = await platform.query(
        "badge", "SELECT count(*) AS n FROM badge_classes WHERE source_id = ANY($1::uuid[])", old
    )
    published = [n for n in range(OLD_ACTIVITIES) if _published_by_old_code(n)]
    published += [n for n in range(OLD_ACTIVITIES) if _published_by_new_code(n)]
    published += [n for n in range(V2_ACTIVITIES) if n % 2 == 0]
    assert made[0]["n"] == len(published)
    placed = await platform.query(
        "activity",
        "SELECT count(*) AS n FROM activities WHERE activity_id = ANY($1::uuid[]) "
        "AND place_name = $2 AND starts_at IS NOT NULL",
        old[:OLD_ACTIVITIES],
        PLACE["name"],
    )
    assert placed[0]["n"] == len([n for n in range(OLD_ACTIVITIES) if _placed_by_new_code(n)])
    # Version 2's dates and places came through the upcaster, and version 3's are empty.
    v2_placed = await platform.query(
        "activity",
        "SELECT count(*) AS n FROM activities WHERE activity_id = ANY($1::uuid[]) "
        "AND place_name = $2 AND starts_at IS NOT NULL AND NOT online AND language IS NULL",
        old[OLD_ACTIVITIES:],
        PLACE["name"],
    )
    assert v2_placed[0]["n"] == V2_ACTIVITIES

    platform.stop_all()
    live = {service: platform.run(service, "checksum") for service in REBUILT}
    ends = await platform.end_offsets("badge.events")

    # Over the log as it is, both versions in it.
    mixed = {service: json.loads(platform.run(service, "rebuild")) for service in REBUILT}
    assert {s: mixed[s]["checksum"] for s in REBUILT} == live
    assert await platform.end_offsets("badge.events") == ends  # no badge was made twice

    # Over the same facts as a platform that only ever saw version 2 stores them.
    current = dataclasses.replace(platform, namespace=f"{platform.namespace}v2", processes={})
    current.infra = platform.infra
    try:
        await _copy_as_version_2(platform, current)
        copied = await _versions(current)
        for kind in CONTENT_EVENTS:
            assert copied[kind] == {CURRENT}, (kind, copied[kind])
        only_v2 = {service: json.loads(current.run(service, "rebuild")) for service in REBUILT}
        assert {s: only_v2[s]["checksum"] for s in REBUILT} == live
        assert {s: only_v2[s]["applied"] for s in REBUILT} == {
            s: mixed[s]["applied"] for s in REBUILT
        }
        assert await current.end_offsets("badge.events") == ends
    finally:
        await current.drop_schemas()
    print("\nrebuilt:", json.dumps({"mixed": mixed, "v2 only": only_v2}))
