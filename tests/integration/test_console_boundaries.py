"""The console's cross-cutting promises, on the real platform with the console running:

- every console page and form, named with the ids of organisation 1's things, answers an
  organiser of organisation 2 (signed in) with 403 or 404 and none of the data; the pages
  without ids show them only their own organisation; organisation 1's things are unchanged
  after every form was sent. The routes are read from the console's app, so a page added
  later is walked too (and an id this test cannot fill fails it, naming the route);
- a form posted to the console from another origin is refused, whoever is signed in;
- while a backing service restarts, a page that needs it answers a "try again" page (503, a
  page, never a 500 or JSON), and works again once the service is back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import params
from fastapi.routing import APIRoute

from services.console.app import build_app
from services.console.settings import ConsoleSettings
from tests.support import START_SECONDS, Platform, bearer, wait_for
from tests.support_console import (
    described,
    form_headers,
    page_text,
    signed_in_console,
)
from tests.support_flows import evidence_badge, published_badge, start_quest
from tests.support_mail import claim_link, wait_for_messages

JSON = {"Accept": "application/json"}
RUN = uuid.uuid4().hex[:8]
ANA = f"ana.{RUN}@riverside.example.org"
BEN = f"ben.{RUN}@hillside.example.org"
# Addresses anyone may open: signing in, health, the documents and static files.
PUBLIC = ("/sign-in", "/health", "/openapi.json", "/docs", "/favicon.ico")
# A form that ends the signed-in organiser's own session: sent last, on its own.
ENDS_SESSION = ("/sign-out",)
PATH_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass
class FirstOrganisation:
    """Organisation 1's things, one of each kind a console address can name."""

    who: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)
    # Strings only organisation 1's pages may show.
    secrets: list[str] = field(default_factory=list)


def _routes() -> list[APIRoute]:
    app = build_app(ConsoleSettings())
    return [
        route
        for route in app.routes
        if isinstance(route, APIRoute) and not route.path.startswith(PUBLIC)
    ]


def _id_for(ids: dict[str, str], path: str, name: str) -> str | None:
    """The id of organisation 1's thing that a route's parameter names: by the segment before
    it (`/activities/{id}`), else by the parameter's own name (`{badge_id}`)."""
    segments = path.strip("/").split("/")
    for index, segment in enumerate(segments):
        found = PATH_PARAMETER.fullmatch(segment)
        if found is not None and found.group(1) == name:
            before = segments[index - 1] if index else ""
            return ids.get(name) or ids.get(before)
    return None


def _filled(ids: dict[str, str], path: str) -> str:
    missing = []

    def fill(found: re.Match[str]) -> str:
        value = _id_for(ids, path, found.group(1))
        if value is None:
            missing.append(found.group(1))
            return found.group(0)
        return value

    filled = PATH_PARAMETER.sub(fill, path)
    assert not missing, (
        f"the console route {path} names {missing}: give this test one of organisation 1's "
        "ids for it (FirstOrganisation.ids) so the route is walked"
    )
    return filled


def _form(route: APIRoute, ids: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A form for the route that would pass its validation: every field it declares filled
    (ids with organisation 1's), and the usual names for routes that read the form
    themselves."""
    data: dict[str, Any] = {
        "title": "Taken over",
        "name": "Taken over",
        "description": "Taken over",
        "criteria": "Taken over",
        "feedback": "Taken over",
        "reason": "Taken over",
        "email": f"mallory.{RUN}@example.org",
        "emails": f"mallory.{RUN}@example.org",
    }
    files: dict[str, Any] = {}
    for body in route.dependant.body_params:
        name = body.alias
        if isinstance(body.field_info, params.File):
            files[name] = ("rows.csv", b"email\nmallory@example.org\n", "text/csv")
            continue
        annotation = str(body.field_info.annotation)
        key = name.removesuffix("s") if name.endswith("_ids") else name
        if key in ids:
            data[name] = [ids[key]] if name.endswith("_ids") else ids[key]
        elif "email" in name:
            data.setdefault(name, f"mallory.{RUN}@example.org")
        elif "bool" in annotation:
            data[name] = "true"
        elif "int" in annotation or "float" in annotation:
            data[name] = "1"
        else:
            data.setdefault(name, "Taken over")
    return data, files


async def _first_organisation(http: httpx.AsyncClient, platform: Platform) -> FirstOrganisation:
    who = platform.bootstrap(f"Riverside {RUN}", ANA)
    first = FirstOrganisation(who)
    activity, badge, evidence = (platform.url(s) for s in ("activity", "badge", "evidence"))
    title = f"Riverside secret garden {RUN}"
    awarded = await published_badge(http, platform, who, title)
    reviewed = await evidence_badge(
        http,
        platform,
        who,
        f"Riverside reviewed {RUN}",
        "organiser",
        [{"title": f"Riverside task {RUN}", "kind": "text"}],
    )
    draft = await http.post(
        f"{activity}/v1/activities",
        headers=bearer(who),
        json={"title": f"Riverside draft {RUN}", "description": "Draft", "criteria": "Draft"},
    )
    assert draft.status_code == 201, draft.text
    playlist = await http.post(
        f"{activity}/v1/playlists",
        headers=bearer(who),
        json={"title": f"Riverside playlist {RUN}", "activity_ids": [awarded["source_id"]]},
    )
    assert playlist.status_code == 201, playlist.text
    colleague_email = f"cara.{RUN}@riverside.example.org"
    colleague = await http.post(
        f"{activity}/v1/organisers",
        headers=bearer(who),
        json={"name": "Cara", "email": colleague_email, "admin": False},
    )
    assert colleague.status_code == 201, colleague.text
    key = await http.post(f"{activity}/v1/keys", headers=bearer(who))
    assert key.status_code == 201, key.text

    holder = f"holder.{RUN}@example.org"
    issued = await http.post(
        f"{badge}/v1/badges/{awarded['id']}/offers",
        headers=bearer(who),
        json={"emails": [holder]},
    )
    assert issued.status_code == 201, issued.text
    mailbox = platform.infra.mailbox_dir
    assert mailbox is not None, "the tests read the mail from MAILBOX_DIR"
    [message] = wait_for_messages(mailbox, holder, subject=awarded["name"])
    claimed = await http.post(claim_link(message), headers=JSON)
    assert claimed.status_code == 200, claimed.text
    published = await http.post(
        f"{activity}/v1/playlists/{playlist.json()['id']}/publish", headers=bearer(who)
    )
    assert published.status_code == 200, published.text
    learner = f"learner.{RUN}@example.org"
    signed, quest = await start_quest(platform, who, platform.infra, http, reviewed, learner)
    async with signed as client:
        sent = await client.post(
            f"{quest['url']}/tasks/{quest['tasks'][0]['task_id']}",
            data={"text": f"Riverside evidence {RUN}"},
            headers=JSON,
        )
        assert sent.status_code == 201, sent.text
    assertions = await http.get(
        f"{badge}/v1/badges/{awarded['id']}/assertions", headers=bearer(who)
    )
    [assertion] = assertions.json()
    await platform.caught_up("evidence", "activity.events")
    queue = await http.get(f"{evidence}/v1/review-queue", headers=bearer(who))
    [waiting] = queue.json()

    first.ids = {
        "activities": awarded["source_id"],
        "activity_id": awarded["source_id"],
        "playlists": playlist.json()["id"],
        "playlist_id": playlist.json()["id"],
        "badges": awarded["id"],
        "badge_id": awarded["id"],
        "badge_class_id": awarded["id"],
        "reviews": waiting["submission_id"],
        "submission_id": waiting["submission_id"],
        "keys": key.json()["key_id"],
        "key_id": key.json()["key_id"],
        "sessions": key.json()["key_id"],
        "session_id": key.json()["key_id"],
        "colleagues": str(colleague.json()["organiser_id"]),
        "organisers": str(colleague.json()["organiser_id"]),
        "organiser_id": str(colleague.json()["organiser_id"]),
        "offers": issued.json()["offers"][0]["offer_id"],
        "offer_id": issued.json()["offers"][0]["offer_id"],
        "issue_id": issued.json()["issue_id"],
        "assertions": str(assertion["assertion_id"]),
        "assertion_id": str(assertion["assertion_id"]),
        "awards": str(assertion["assertion_id"]),
        "award_id": str(assertion["assertion_id"]),
    }
    first.secrets = [title, colleague_email, holder, learner, f"Riverside evidence {RUN}"]
    return first


async def _state_of(http: httpx.AsyncClient, platform: Platform, first: FirstOrganisation) -> Any:
    """What organisation 1 has, as its own organiser's key reads it."""
    who, ids = first.who, first.ids
    activity, badge, evidence = (platform.url(s) for s in ("activity", "badge", "evidence"))
    reads = {
        "activity": f"{activity}/v1/activities/{ids['activity_id']}",
        "activities": f"{activity}/v1/activities",
        "playlist": f"{activity}/v1/playlists/{ids['playlist_id']}",
        "organisers": f"{activity}/v1/organisers",
        "badge": f"{badge}/v1/badges/{ids['badge_id']}",
        "assertions": f"{badge}/v1/badges/{ids['badge_id']}/assertions",
        "review": f"{evidence}/v1/submissions/{ids['submission_id']}",
    }
    state: dict[str, Any] = {}
    for name, url in reads.items():
        answer = await http.get(url, headers=bearer(who))
        assert answer.status_code == 200, (name, answer.text)
        state[name] = answer.json()
    keys = (await http.get(f"{activity}/v1/keys", headers=bearer(who))).json()
    # Sessions begin and end while the test runs; the keys it made must stay as they were.
    state["key"] = [k for k in keys if ids["key_id"] in str(k.get("prefix", ""))]
    return state


@pytest.fixture(scope="module")
async def first(platform: Platform) -> FirstOrganisation:
    async with httpx.AsyncClient(timeout=30) as http:
        return await _first_organisation(http, platform)


@pytest.fixture(scope="module")
async def ben(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    platform.bootstrap(f"Hillside {RUN}", BEN)
    client = await signed_in_console(platform, BEN)
    try:
        yield client
    finally:
        await client.aclose()


async def test_another_organisations_organiser_gets_403_or_404_on_every_page_and_form(
    http, platform, first, ben
):
    before = await _state_of(http, platform, first)
    routes = _routes()
    assert any("{" in r.path for r in routes), "the console has no page that names a thing"
    problems: list[str] = []
    walked = 0
    for route in routes:
        path = _filled(first.ids, route.path)
        names_a_thing = path != route.path
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if route.path in ENDS_SESSION:
                continue
            walked += 1
            if method == "GET":
                answer = await ben.get(path)
            else:
                data, files = _form(route, first.ids)
                answer = await ben.request(
                    method,
                    path,
                    data=data,
                    files=files or None,
                    headers={**form_headers(platform), "x-console-page": "/"},
                )
            leaked = [s for s in first.secrets if s in answer.text]
            if leaked:
                problems.append(f"{method} {route.path} shows organisation 1's {leaked}")
            if answer.status_code >= 500:
                problems.append(f"{method} {route.path}: {described(answer)}")
            elif names_a_thing and answer.status_code not in (403, 404):
                problems.append(f"{method} {route.path}: not 403/404 but {described(answer)}")
            elif method == "GET" and not page_text(answer) and answer.status_code != 303:
                problems.append(f"{method} {route.path} is not a page: {described(answer)}")
    assert walked >= 5
    assert not problems, "\n".join(problems)
    # Every form was sent: organisation 1 has what it had.
    await platform.caught_up("evidence", "evidence.events")
    after = await _state_of(http, platform, first)
    for name in before:
        assert after[name] == before[name], f"organisation 1's {name} changed"
    assert after["review"]["status"] == "pending" and after["review"]["reviews"] == []


async def test_a_form_from_another_origin_is_refused(http, platform, first):
    ana = await signed_in_console(platform, ANA)
    async with aclosing(ana):
        before = await _state_of(http, platform, first)
        refused = []
        for route in _routes() + _public_forms():
            for method in (route.methods or set()) - {"GET", "HEAD"}:
                path = (
                    _filled(first.ids, route.path)
                    if "{token}" not in route.path
                    else (route.path.replace("{token}", "x" * 40))
                )
                data, _ = _form(route, first.ids)
                for forged in (
                    {"origin": "https://evil.example"},
                    {"sec-fetch-site": "cross-site"},
                    {"referer": "https://evil.example/page"},
                ):
                    answer = await ana.request(method, path, data=data, headers=forged)
                    if answer.status_code != 403 or "text/html" not in answer.headers.get(
                        "content-type", ""
                    ):
                        refused.append(f"{method} {route.path} {forged}: {described(answer)}")
        assert not refused, "cross-origin forms were not refused:\n" + "\n".join(refused)
        # Still signed in, and nothing changed.
        assert (await ana.get("/reviews")).status_code == 200
        after = await _state_of(http, platform, first)
        assert after == before


def _public_forms() -> list[APIRoute]:
    app = build_app(ConsoleSettings())
    return [
        route
        for route in app.routes
        if isinstance(route, APIRoute)
        and route.path.startswith("/sign-in")
        and "POST" in (route.methods or set())
    ]


def _page_over(routes: list[APIRoute], service: str, first: FirstOrganisation) -> str:
    """A console page that reads `service`: the badge's own page (issuing) for the badge
    service, the review page for the evidence service."""
    wanted = {"badge": ("/activities/{", "/badge"), "evidence": ("/reviews/{", "")}
    start, end = wanted[service]
    for route in routes:
        if (
            "GET" in (route.methods or set())
            and route.path.startswith(start)
            and route.path.endswith(end or "}")
        ):
            return _filled(first.ids, route.path)
    raise AssertionError(f"no console page reads the {service} service")


@pytest.mark.parametrize("service", ["evidence", "badge"])
async def test_a_backing_service_restarting_gives_a_try_again_page(http, platform, first, service):
    routes = _routes()
    try:
        page = _page_over(routes, service, first)
    except AssertionError:
        if service == "badge":
            # The Badges tab is the first console page over the badge service.
            pytest.fail("no console page over the badge service to take down (issue 10 item 4)")
        raise
    ana = await signed_in_console(platform, ANA)
    async with aclosing(ana):
        assert (await ana.get(page)).status_code == 200
        platform.stop(service)
        try:
            down = await ana.get(page)
            assert down.status_code == 503, described(down)
            assert "text/html" in down.headers["content-type"], described(down)
            assert re.search(r"try again", down.text, re.I), described(down)
            assert int(down.headers["retry-after"]) > 0
            # Every other page answers too: a page, never a server error.
            for route in routes:
                if "GET" in (route.methods or set()) and route.path not in ENDS_SESSION:
                    answer = await ana.get(_filled(first.ids, route.path))
                    status = answer.status_code
                    assert status < 500 or status == 503, (route.path, described(answer))
                    assert page_text(answer) or status in (200, 303), (
                        route.path,
                        described(answer),
                    )
        finally:
            platform.start(service)
            platform.wait_healthy(service, timeout=START_SECONDS)

        last: list[Any] = []

        async def back() -> bool:
            answer = await ana.get(page)
            last[:] = [answer]
            return answer.status_code == 200

        try:
            await wait_for(back, timeout=START_SECONDS)
        except AssertionError as error:
            # What the page said last tells a slow start from a console that stays stuck.
            said = described(last[0]) if last else "no answer"
            raise AssertionError(f"{page} did not come back after the restart: {said}") from error
