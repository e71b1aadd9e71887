"""Kafka is the system of record: empty every service's schema, replay, get the same state."""

from __future__ import annotations

import asyncio
import json

import httpx

from contracts.services import SERVICES
from services.activity import service_layer
from services.activity.app import build_runtime
from tests.support import bearer

ORGANISATIONS = 10
ACTIVITIES_PER_ORGANISATION = 100


async def _organisations(platform) -> list[dict[str, str]]:
    runtime = build_runtime(platform.settings)
    await runtime.open()
    try:
        created = [
            await service_layer.create_organisation(
                runtime,
                name=f"Organisation {n}",
                url=f"https://org{n}.example.org",
                email=f"badges@org{n}.example.org",
                organiser_name=f"Organiser {n}",
                organiser_email=f"organiser{n}@org{n}.example.org",
            )
            for n in range(ORGANISATIONS)
        ]
    finally:
        await runtime.close()
    return [{"api_key": c.api_key, "organisation_id": str(c.organisation_id)} for c in created]


async def _workload(platform, organisations) -> int:
    limit = asyncio.Semaphore(8)
    base = f"{platform.url('activity')}/v1"

    async def one(client: httpx.AsyncClient, who: dict[str, str], n: int) -> str:
        async with limit:
            created = await client.post(
                f"{base}/activities",
                headers=bearer(who),
                json={"title": f"Activity {n}", "description": f"About {n}", "criteria": f"Do {n}"},
            )
            activity_id = created.json()["id"]
            if n % 10 == 0:
                await client.patch(
                    f"{base}/activities/{activity_id}",
                    headers=bearer(who),
                    json={"title": f"Renamed {n}"},
                )
            if n % 4 != 3:  # most are published, some stay drafts
                answer = await client.post(
                    f"{base}/activities/{activity_id}/publish", headers=bearer(who)
                )
                assert answer.status_code == 200, answer.text
            if n % 25 == 24:
                await client.post(f"{base}/activities/{activity_id}/archive", headers=bearer(who))
            return activity_id

    async with httpx.AsyncClient(timeout=60) as client:
        ids = await asyncio.gather(
            *(
                one(client, who, n)
                for who in organisations
                for n in range(ACTIVITIES_PER_ORGANISATION)
            )
        )
        # One playlist per organisation, of its first three published activities.
        for index, who in enumerate(organisations):
            mine = ids[
                index * ACTIVITIES_PER_ORGANISATION : index * ACTIVITIES_PER_ORGANISATION + 3
            ]
            playlist = await client.post(
                f"{base}/playlists",
                headers=bearer(who),
                json={"title": "Trail", "activity_ids": mine},
            )
            published = await client.post(
                f"{base}/playlists/{playlist.json()['id']}/publish", headers=bearer(who)
            )
            assert published.status_code == 200, published.text
    return len(ids)


async def test_rebuilding_every_service_from_kafka_reproduces_its_checksum(platform):
    organisations = await _organisations(platform)
    count = await _workload(platform, organisations)
    assert count >= 1_000
    await platform.caught_up("badge", "activity.events", timeout=120)
    for service in SERVICES:
        await platform.caught_up(service, f"{service}.events")

    badges = (await platform.query("badge", "SELECT count(*) AS n FROM badge_classes"))[0]["n"]
    assert badges >= 750 + ORGANISATIONS  # the published activities and the playlists
    platform.stop_all()
    before = {service: platform.run(service, "checksum") for service in SERVICES}
    offsets_before = {
        name: await platform.end_offsets(name) for name in ("activity.events", "badge.events")
    }

    await platform.drop_schemas()
    emptied = await platform.query(
        "badge",
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    assert emptied[0]["n"] == 0

    reports = {service: json.loads(platform.run(service, "rebuild")) for service in SERVICES}
    after = {service: platform.run(service, "checksum") for service in SERVICES}
    assert after == before
    assert all(reports[s]["checksum"] == before[s] for s in SERVICES)
    assert reports["badge"]["applied"] > badges
    # Replaying made no decision twice: nothing new was appended to any log.
    for name, ends in offsets_before.items():
        assert await platform.end_offsets(name) == ends, name
    print("\nreplay:", json.dumps(reports))

    platform.start_all()  # the next module's fixture teardown expects running processes
