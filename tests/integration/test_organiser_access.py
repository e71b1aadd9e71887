"""Organiser keys and roles on the real platform: keys are listed by prefix only, issued and
revoked by their organisers (API and command line); a revoked key, or every key of a removed
organiser, is refused by the activity, badge and evidence services within a second; only an
organisation's admins add, remove and promote organisers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
from aiokafka import AIOKafkaProducer

from contracts import Event, encode, new_envelope
from contracts.activity import OrganisationCreated, OrganiserAdded, OrganiserKeyIssued
from services.activity.domain.keys import new_key
from tests.support import Platform, bearer, wait_for


def _endpoints(platform: Platform) -> dict[str, str]:
    """One organiser-only read per service that serves organisers."""
    return {
        "activity": f"{platform.url('activity')}/v1/activities",
        "badge": f"{platform.url('badge')}/v1/badges",
        "evidence": f"{platform.url('evidence')}/v1/review-queue",
    }


async def _works_everywhere(http: httpx.AsyncClient, platform: Platform, key: str) -> None:
    async def accepted() -> bool:
        answers = [
            await http.get(url, headers=bearer({"api_key": key}))
            for url in _endpoints(platform).values()
        ]
        return all(answer.status_code == 200 for answer in answers)

    await wait_for(accepted)


async def _refused_everywhere_within(
    http: httpx.AsyncClient, platform: Platform, key: str, since: float
) -> float:
    """Seconds from `since` until every service refuses the key (polled every 20 ms)."""
    pending = dict(_endpoints(platform))
    while pending:
        for service, url in list(pending.items()):
            answer = await http.get(url, headers=bearer({"api_key": key}))
            if answer.status_code == 401:
                assert "revoked" in answer.json()["error"], answer.text
                del pending[service]
        if pending and time.monotonic() - since > 10:
            raise AssertionError(f"still accepted after 10 s by {sorted(pending)}")
        if pending:
            await asyncio.sleep(0.02)
    print(f"refused everywhere after {time.monotonic() - since:.3f} s")
    return time.monotonic() - since


async def _add(http, platform, who, name: str, **extra) -> httpx.Response:
    return await http.post(
        f"{platform.url('activity')}/v1/organisers",
        headers=bearer(who),
        json={"name": name, "email": f"{name.lower()}.{uuid.uuid4().hex[:6]}@example.org", **extra},
    )


async def test_an_organiser_replaces_a_leaked_key_and_every_service_refuses_it_at_once(
    http, platform, organiser
):
    added = await _add(http, platform, organiser, "Cara")
    assert added.status_code == 201, added.text
    cara = added.json()
    assert cara["prefix"] == "obk_" + cara["key_id"] and cara["api_key"].startswith(cara["prefix"])
    await _works_everywhere(http, platform, cara["api_key"])

    keys_url = f"{platform.url('activity')}/v1/keys"
    fresh = await http.post(keys_url, headers=bearer(cara))
    assert fresh.status_code == 201, fresh.text
    listed = await http.get(keys_url, headers=bearer(fresh.json()))
    assert listed.status_code == 200, listed.text
    mine = {k["key_id"]: k for k in listed.json() if k["organiser_id"] == cara["organiser_id"]}
    assert set(mine) == {cara["key_id"], fresh.json()["key_id"]}
    # Never readable back: neither the secret nor its hash is in the list.
    secret = cara["api_key"].rsplit("_", 1)[1]
    assert secret not in listed.text and "sha256" not in listed.text
    assert all(not k["revoked"] for k in mine.values())

    await _works_everywhere(http, platform, fresh.json()["api_key"])
    started = time.monotonic()
    revoked = await http.post(f"{keys_url}/{cara['prefix']}/revoke", headers=bearer(fresh.json()))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked"] and revoked.json()["revoked_at"]
    elapsed = await _refused_everywhere_within(http, platform, cara["api_key"], started)
    assert elapsed < 1.0, f"a revoked key still worked somewhere after {elapsed:.2f} s"
    again = await http.post(f"{keys_url}/{cara['key_id']}/revoke", headers=bearer(fresh.json()))
    assert again.status_code == 409
    await _works_everywhere(http, platform, fresh.json()["api_key"])


async def test_only_admins_manage_organisers(http, platform, organiser, other_organiser):
    me = (await http.get(f"{platform.url('activity')}/v1/me", headers=bearer(organiser))).json()
    assert me["organiser"]["is_admin"] is True  # the bootstrap organiser
    dan = (await _add(http, platform, organiser, "Dan")).json()
    eve = (await _add(http, platform, organiser, "Eve")).json()
    organisers = f"{platform.url('activity')}/v1/organisers"

    # A key that is not an admin's cannot mint keys for new organisers, nor remove anyone.
    before = await platform.end_offsets("activity.events")
    refused = await _add(http, platform, dan, "Mallory")
    assert refused.status_code == 403 and "admin" in refused.json()["error"], refused.text
    removal = await http.post(f"{organisers}/{eve['organiser_id']}/remove", headers=bearer(dan))
    assert removal.status_code == 403
    promote = await http.post(f"{organisers}/{dan['organiser_id']}/admin", headers=bearer(dan))
    assert promote.status_code == 403
    admin_key = (await http.get(f"{platform.url('activity')}/v1/keys", headers=bearer(dan))).json()
    admin_key_id = next(
        k["key_id"] for k in admin_key if k["organiser_id"] == me["organiser"]["organiser_id"]
    )
    theirs = await http.post(
        f"{platform.url('activity')}/v1/keys/{admin_key_id}/revoke", headers=bearer(dan)
    )
    assert theirs.status_code == 403
    # Another organisation's admin finds nothing here.
    foreign = await http.post(
        f"{platform.url('activity')}/v1/keys/{admin_key_id}/revoke",
        headers=bearer(other_organiser),
    )
    assert foreign.status_code == 404
    foreign_removal = await http.post(
        f"{organisers}/{dan['organiser_id']}/remove", headers=bearer(other_organiser)
    )
    assert foreign_removal.status_code == 404
    assert await platform.end_offsets("activity.events") == before

    # An admin makes Dan an admin; Dan can then add a colleague.
    made = await http.post(f"{organisers}/{dan['organiser_id']}/admin", headers=bearer(organiser))
    assert made.status_code == 200 and made.json()["admin"] is True, made.text
    assert (await _add(http, platform, dan, "Fay")).status_code == 201
    listed = (await http.get(organisers, headers=bearer(eve))).json()
    admins = {o["id"] for o in listed if o["admin"]}
    assert admins == {me["organiser"]["organiser_id"], dan["organiser_id"]}

    # Nobody removes themselves (so an organisation always keeps an admin).
    own = await http.post(f"{organisers}/{dan['organiser_id']}/remove", headers=bearer(dan))
    assert own.status_code == 409

    # Removing Eve revokes every key she holds, in every service, within a second.
    second = (await http.post(f"{platform.url('activity')}/v1/keys", headers=bearer(eve))).json()
    await _works_everywhere(http, platform, second["api_key"])
    started = time.monotonic()
    removed = await http.post(f"{organisers}/{eve['organiser_id']}/remove", headers=bearer(dan))
    assert removed.status_code == 204, removed.text
    for key in (eve["api_key"], second["api_key"]):
        elapsed = await _refused_everywhere_within(http, platform, key, started)
        assert elapsed < 1.0, f"a removed organiser's key worked after {elapsed:.2f} s"
    listed = (await http.get(organisers, headers=bearer(dan))).json()
    assert eve["organiser_id"] not in {o["id"] for o in listed}

    # Two admins removing each other at the same moment: one of them stays.
    gil = (await _add(http, platform, dan, "Gil", admin=True)).json()
    jo = (await _add(http, platform, dan, "Jo", admin=True)).json()
    answers = await asyncio.gather(
        http.post(f"{organisers}/{jo['organiser_id']}/remove", headers=bearer(gil)),
        http.post(f"{organisers}/{gil['organiser_id']}/remove", headers=bearer(jo)),
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses[0] == 204 and statuses[1] in (401, 403), [a.text for a in answers]


async def test_the_operator_lists_and_revokes_keys_on_the_command_line(http, platform):
    created = platform.bootstrap("Quayside Makers", "gus@quayside.example.org")
    await _works_everywhere(http, platform, created["api_key"])
    lines = platform.run_lines("activity", "keys", "--organisation", created["organisation_id"])
    [listed] = [json.loads(line) for line in lines if line.startswith("{")]
    assert created["api_key"].startswith(listed["prefix"]) and listed["revoked"] is False
    assert created["api_key"] not in "\n".join(lines)

    platform.run("activity", "revoke-key", listed["prefix"])
    elapsed = await _refused_everywhere_within(http, platform, created["api_key"], time.monotonic())
    assert elapsed < 1.0, f"a revoked key still worked somewhere {elapsed:.2f} s after"
    fresh = json.loads(
        platform.run("activity", "issue-key", "--organiser", created["organiser_id"])
    )
    await _works_everywhere(http, platform, fresh["api_key"])


async def test_in_an_old_log_the_first_organiser_is_the_admin(http, platform, infra):
    """Organisations made before the admin role existed have no `OrganiserAdminRoleGranted`."""
    organisation_id, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first_key, second_key = new_key(), new_key()
    events: list[tuple[uuid.UUID, Event, int]] = [
        (
            organisation_id,
            OrganisationCreated(
                organisation_id=organisation_id,
                name="Old Mill",
                url="https://mill.example.org",
                email="badges@mill.example.org",
            ),
            1,
        ),
    ]
    for n, (organiser_id, key) in enumerate(((first, first_key), (second, second_key))):
        events.append(
            (
                organiser_id,
                OrganiserAdded(
                    organiser_id=organiser_id,
                    organisation_id=organisation_id,
                    name=f"Old {n}",
                    email=f"old{n}@mill.example.org",
                ),
                1,
            )
        )
        events.append(
            (
                organiser_id,
                OrganiserKeyIssued(
                    organiser_id=organiser_id,
                    organisation_id=organisation_id,
                    key_id=key.key_id,
                    secret_sha256=key.secret_sha256,
                ),
                2,
            )
        )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        for stream_id, event, version in events:
            envelope = new_envelope(
                event, stream_id=stream_id, stream_version=version, actor="operator"
            )
            await producer.send_and_wait(
                platform.topic("activity.events"), encode(envelope), key=str(stream_id).encode()
            )
            await asyncio.sleep(0.01)  # the second organiser is added after the first
    finally:
        await producer.stop()
    await _works_everywhere(http, platform, second_key.api_key)
    await _works_everywhere(http, platform, first_key.api_key)

    by_second = await _add(http, platform, {"api_key": second_key.api_key}, "Hal")
    assert by_second.status_code == 403, by_second.text
    by_first = await _add(http, platform, {"api_key": first_key.api_key}, "Ida")
    assert by_first.status_code == 201, by_first.text


async def test_keys_roles_and_removals_replay_to_the_same_state(platform):
    """Runs last: everything above (revocations, removals, admins, an old log) rebuilt from
    Kafka gives every service the same tables."""
    services = ("activity", "badge", "evidence")
    for service in services:
        await platform.caught_up(service, "activity.events")
    platform.stop_all()
    before = {s: platform.run_lines(s, "checksum", "--tables") for s in services}
    admins = await platform.query(
        "activity", "SELECT count(*) AS n FROM organisers WHERE made_admin"
    )
    assert admins[0]["n"] >= 3  # the bootstrap organisers and a promoted one
    for service in services:  # rebuild drops the service's schema and replays its topics
        platform.run(service, "rebuild")
    after = {s: platform.run_lines(s, "checksum", "--tables") for s in services}
    assert after == before
    platform.start_all()
