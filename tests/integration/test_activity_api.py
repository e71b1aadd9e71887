"""The organiser API on the real platform: the happy path, and bad input that changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support import Platform, bearer


async def _activity(http: httpx.AsyncClient, platform: Platform, who: dict[str, str]) -> dict:
    answer = await http.post(
        f"{platform.url('activity')}/v1/activities",
        headers=bearer(who),
        json={
            "title": "Street art walk",
            "description": "Murals of the old town",
            "criteria": "Join the walk",
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_draft_update_publish_archive(http, platform, organiser):
    activity = await _activity(http, platform, organiser)
    base = f"{platform.url('activity')}/v1/activities/{activity['id']}"
    assert activity["status"] == "draft" and activity["version"] == 1

    updated = await http.patch(base, headers=bearer(organiser), json={"title": "Street art tour"})
    assert updated.status_code == 200 and updated.json()["title"] == "Street art tour"
    published = await http.post(f"{base}/publish", headers=bearer(organiser))
    assert published.json()["status"] == "published" and published.json()["version"] == 3

    again = await http.post(f"{base}/publish", headers=bearer(organiser))
    assert again.status_code == 409 and "already published" in again.json()["error"]

    archived = await http.post(f"{base}/archive", headers=bearer(organiser))
    assert archived.json()["status"] == "archived"
    refused = await http.patch(base, headers=bearer(organiser), json={"title": "x"})
    assert refused.status_code == 409 and "archived" in refused.json()["error"]

    listed = await http.get(f"{platform.url('activity')}/v1/activities", headers=bearer(organiser))
    assert activity["id"] in [a["id"] for a in listed.json()]


async def test_playlist_needs_published_activities_of_its_own_organisation(
    http, platform, organiser, other_organiser
):
    mine = await _activity(http, platform, organiser)
    theirs = await _activity(http, platform, other_organiser)
    playlists = f"{platform.url('activity')}/v1/playlists"

    foreign = await http.post(
        playlists,
        headers=bearer(organiser),
        json={"title": "Mixed", "activity_ids": [theirs["id"]]},
    )
    assert foreign.status_code == 409 and "not one of your organisation" in foreign.json()["error"]

    playlist = (
        await http.post(
            playlists,
            headers=bearer(organiser),
            json={"title": "Art trail", "activity_ids": [mine["id"]]},
        )
    ).json()
    early = await http.post(f"{playlists}/{playlist['id']}/publish", headers=bearer(organiser))
    assert early.status_code == 409 and "not published yet" in early.json()["error"]

    await http.post(
        f"{platform.url('activity')}/v1/activities/{mine['id']}/publish", headers=bearer(organiser)
    )
    published = await http.post(f"{playlists}/{playlist['id']}/publish", headers=bearer(organiser))
    assert published.status_code == 200 and published.json()["status"] == "published"
    frozen = await http.patch(
        f"{playlists}/{playlist['id']}", headers=bearer(organiser), json={"title": "New"}
    )
    assert frozen.status_code == 409


async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    http, platform, organiser, other_organiser
):
    activity = await _activity(http, platform, organiser)
    url = f"{platform.url('activity')}/v1/activities/{activity['id']}"
    before_offsets = await platform.end_offsets("activity.events")
    before_rows = await platform.query("activity", "SELECT * FROM activities ORDER BY activity_id")

    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (
            "malformed JSON",
            dict(
                content=b'{"title": "x",',
                headers={**bearer(organiser), "content-type": "application/json"},
            ),
            400,
            "not valid JSON",
        ),
        (
            "unknown field",
            dict(json={"title": "x", "colour": "red"}, headers=bearer(organiser)),
            422,
            "colour",
        ),
        (
            "oversized field",
            dict(json={"title": "x" * 201}, headers=bearer(organiser)),
            422,
            "title",
        ),
        ("wrong type", dict(json={"title": 5}, headers=bearer(organiser)), 422, "title"),
        (
            "NUL character",
            dict(json={"title": "a\u0000b"}, headers=bearer(organiser)),
            422,
            "cannot be stored",
        ),
        (
            "huge body",
            dict(
                content=b'{"title": "' + b"x" * 70_000 + b'"}',
                headers={**bearer(organiser), "content-type": "application/json"},
            ),
            413,
            "larger than",
        ),
        ("missing key", dict(json={"title": "x"}), 401, "API key is required"),
        (
            "malformed key",
            dict(json={"title": "x"}, headers={"Authorization": "Bearer nonsense"}),
            401,
            "malformed",
        ),
        (
            "forged key",
            dict(
                json={"title": "x"},
                headers={"Authorization": "Bearer " + organiser["api_key"][:-4] + "AAAA"},
            ),
            401,
            "not valid",
        ),
        (
            "another organisation's key",
            dict(json={"title": "x"}, headers=bearer(other_organiser)),
            403,
            "another organisation",
        ),
    ]
    for name, request, status, message in cases:
        answer = await http.patch(url, **request)
        assert answer.status_code == status, (name, answer.text)
        body = answer.json()
        assert message in str(body), (name, body)

    for action in ("publish", "archive"):
        answer = await http.post(f"{url}/{action}", headers=bearer(other_organiser))
        assert answer.status_code == 403, answer.text
    unknown = await http.post(
        f"{platform.url('activity')}/v1/activities/00000000-0000-0000-0000-000000000000/publish",
        headers=bearer(organiser),
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "activity not found"

    assert await platform.end_offsets("activity.events") == before_offsets
    after_rows = await platform.query("activity", "SELECT * FROM activities ORDER BY activity_id")
    assert after_rows == before_rows


async def test_patch_reads_null_one_way(http, platform, organiser):
    """Left out: kept. `null`: refused with 422 naming the field (no field here has a null
    value); "" or [] empties a field. Nothing is appended for a refusal."""
    activity = await _activity(http, platform, organiser)
    activity_url = f"{platform.url('activity')}/v1/activities/{activity['id']}"
    playlists = f"{platform.url('activity')}/v1/playlists"
    playlist = (
        await http.post(
            playlists,
            headers=bearer(organiser),
            json={"title": "Trail", "description": "Walk it", "activity_ids": [activity["id"]]},
        )
    ).json()
    playlist_url = f"{playlists}/{playlist['id']}"
    before_offsets = await platform.end_offsets("activity.events")

    for url, body in (
        (playlist_url, {"activity_ids": None}),
        (playlist_url, {"title": None, "description": None}),
        (activity_url, {"criteria": None}),
        (activity_url, {"title": None}),
    ):
        refused = await http.patch(url, headers=bearer(organiser), json=body)
        assert refused.status_code == 422, refused.text
        assert "cannot be null" in refused.text
        assert all(field in str(refused.json()["details"]) for field in body), refused.text
    assert await platform.end_offsets("activity.events") == before_offsets

    emptied = await http.patch(
        playlist_url, headers=bearer(organiser), json={"activity_ids": [], "description": ""}
    )
    assert emptied.status_code == 200, emptied.text
    assert emptied.json()["activity_ids"] == [] and emptied.json()["description"] == ""
    assert emptied.json()["title"] == "Trail"
    kept = await http.patch(activity_url, headers=bearer(organiser), json={"criteria": ""})
    assert kept.status_code == 200 and kept.json()["criteria"] == ""
    assert kept.json()["description"] == activity["description"]


def test_bootstrap_refuses_a_non_web_issuer_url_and_a_bad_email(platform):
    for flag, value, message in (
        ("--url", "javascript:alert(1)", "must start with https:// or http://"),
        ("--url", "https://", "needs a host name"),
        ("--email", "not-an-address", "organisation's email is not a valid email address"),
        ("--organiser-email", "ana@", "organiser's email is not a valid email address"),
    ):
        arguments = {
            "--organisation": "Mallory's club",
            "--url": "https://mallory.example.org",
            "--email": "badges@mallory.example.org",
            "--organiser-name": "Mallory",
            "--organiser-email": "mallory@mallory.example.org",
            flag: value,
        }
        try:
            platform.run("activity", "bootstrap", *(x for pair in arguments.items() for x in pair))
        except RuntimeError as error:
            assert "failed (2)" in str(error) and message in str(error), str(error)
        else:
            raise AssertionError(f"bootstrap accepted {flag} {value}")
    names = {
        event.payload.name
        for event in asyncio.run(platform.read_topic("activity.events"))
        if event.event_type == "OrganisationCreated"
    }
    assert "Mallory's club" not in names
