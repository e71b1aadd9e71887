"""What an organiser does before a learner walks in, over the organiser API: publish an
activity, edit its badge, issue it, invite peer reviewers."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Platform, badge_of, bearer


class Organiser:
    def __init__(self, http: httpx.AsyncClient, platform: Platform, who: dict[str, str]) -> None:
        self.http = http
        self.platform = platform
        self.who = who

    async def badge(self, title: str, **changes: Any) -> dict[str, Any]:
        """A published activity's badge, edited with `changes` (PATCH /v1/badges/{id})."""
        activity = await self.http.post(
            f"{self.platform.url('activity')}/v1/activities",
            headers=bearer(self.who),
            json={
                "title": title,
                "description": f"Learners who took part in {title}.",
                "criteria": f"Take part in {title} and show what you made.",
            },
        )
        assert activity.status_code == 201, activity.text
        activity_id = activity.json()["id"]
        published = await self.http.post(
            f"{self.platform.url('activity')}/v1/activities/{activity_id}/publish",
            headers=bearer(self.who),
        )
        assert published.status_code == 200, published.text
        badge: dict[str, Any] = await badge_of(self.http, self.platform, self.who, activity_id)
        if changes:
            edited = await self.http.patch(
                f"{self.platform.url('badge')}/v1/badges/{badge['id']}",
                headers=bearer(self.who),
                json=changes,
            )
            assert edited.status_code == 200, edited.text
            badge = edited.json()
        return badge

    async def issue(self, badge: dict[str, Any], email: str) -> None:
        answer = await self.http.post(
            f"{self.platform.url('badge')}/v1/badges/{badge['id']}/offers",
            headers=bearer(self.who),
            json={"email": email},
        )
        assert answer.status_code == 201, answer.text

    async def open_link(self, badge: dict[str, Any]) -> str:
        answer = await self.http.get(
            f"{self.platform.url('badge')}/v1/badges/{badge['id']}/open-link",
            headers=bearer(self.who),
        )
        assert answer.status_code == 200, answer.text
        url: str = answer.json()["url"]
        return url

    async def invite_peers(self, badge: dict[str, Any], emails: list[str]) -> None:
        answer = await self.http.post(
            f"{self.platform.url('badge')}/v1/badges/{badge['id']}/peer-reviewers",
            headers=bearer(self.who),
            json={"emails": emails},
        )
        assert answer.status_code == 200, answer.text
        # The evidence service learns of the reviewers from the badge service's events.
        await self.platform.caught_up("evidence", "badge.events")
