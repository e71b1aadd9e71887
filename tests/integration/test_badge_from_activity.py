"""Publishing an activity or playlist makes its badge, served as Open Badges 2.0 JSON-LD."""

from __future__ import annotations

from tests.support import badge_of, bearer


async def _published(http, platform, who, **content):
    created = await http.post(
        f"{platform.url('activity')}/v1/activities", headers=bearer(who), json=content
    )
    activity_id = created.json()["id"]
    await http.post(
        f"{platform.url('activity')}/v1/activities/{activity_id}/publish", headers=bearer(who)
    )
    return activity_id


async def _badge_of(http, platform, who, source_id):
    return await badge_of(http, platform, who, source_id)


async def test_published_activity_gets_its_badge_with_open_badges_documents(
    http, platform, organiser, other_organiser
):
    activity_id = await _published(
        http,
        platform,
        organiser,
        title="Climate action <b>lab</b>",
        description="Plan a neighbourhood climate project.",
        criteria="Present a project plan to the group.",
    )
    badge = await _badge_of(http, platform, organiser, activity_id)
    assert badge["name"] == "Climate action <b>lab</b>"
    assert badge["description"] == "Plan a neighbourhood climate project."
    assert badge["criteria_narrative"] == "Present a project plan to the group."

    document = (await http.get(badge["open_badges_url"])).json()
    assert document["@context"] == "https://w3id.org/openbadges/v2"
    assert document["type"] == "BadgeClass"
    assert document["id"] == badge["open_badges_url"]
    assert document["criteria"] == {"narrative": "Present a project plan to the group."}

    issuer = (await http.get(document["issuer"])).json()
    assert issuer["type"] == "Issuer"
    assert issuer["name"] == "Riverside Youth Centre"
    assert issuer["id"] == document["issuer"]

    image = await http.get(document["image"])
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")

    foreign = await http.get(
        f"{platform.url('badge')}/v1/badges/{badge['id']}", headers=bearer(other_organiser)
    )
    assert foreign.status_code == 403


async def test_editing_a_published_activity_leaves_its_badge_unchanged(http, platform, organiser):
    activity_id = await _published(
        http, platform, organiser, title="Podcasting", description="Record an episode."
    )
    badge = await _badge_of(http, platform, organiser, activity_id)
    edited = await http.patch(
        f"{platform.url('activity')}/v1/activities/{activity_id}",
        headers=bearer(organiser),
        json={"title": "Podcasting 2", "description": "Record two episodes."},
    )
    assert edited.json()["title"] == "Podcasting 2"
    await platform.caught_up("badge", "activity.events")
    again = await _badge_of(http, platform, organiser, activity_id)
    assert (again["name"], again["description"], again["updated_at"]) == (
        "Podcasting",
        "Record an episode.",
        badge["updated_at"],
    )


async def test_published_playlist_gets_a_badge_requiring_its_activities(http, platform, organiser):
    first = await _published(http, platform, organiser, title="Knots")
    second = await _published(http, platform, organiser, title="Campfire")
    playlist = (
        await http.post(
            f"{platform.url('activity')}/v1/playlists",
            headers=bearer(organiser),
            json={
                "title": "Scout skills",
                "description": "Outdoor basics.",
                "activity_ids": [first, second],
            },
        )
    ).json()
    await http.post(
        f"{platform.url('activity')}/v1/playlists/{playlist['id']}/publish",
        headers=bearer(organiser),
    )
    badge = await _badge_of(http, platform, organiser, playlist["id"])
    assert badge["source_kind"] == "playlist"
    assert badge["required_activity_ids"] == [first, second]
    assert "each of the 2 activities" in badge["criteria_narrative"]
