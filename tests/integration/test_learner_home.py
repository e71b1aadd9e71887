"""The learner home over HTTP on the real Kafka, PostgreSQL and mailbox: an address proved by
its emailed link, the badges of that address only, the holder's name chosen on the home and
shown by the badge service's page, a playlist's progress, and a rebuild of the evidence and
badge services from their logs equal to the live read models (awards, names, organisations)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import uuid

from tests.infrastructure import REPO
from tests.support import Platform, wait_for
from tests.support_flows import JSON, claim_by_email, playlist_badge, published_badge
from tests.support_mail import plain_body, wait_for_messages

# A shared machine under load can take Kafka longer than the default bound.
PLATFORM_ENV = {"KAFKA_WRITE_TIMEOUT_SECONDS": "30"}


def _verify(platform: Platform, service: str) -> tuple[int, str]:
    done = subprocess.run(
        platform.command(service, "verify", "--rounds", "2"),
        cwd=REPO,
        env=platform.env(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout.decode()[-3000:] + done.stderr.decode()[-3000:]


async def _signed_in(http, platform, infra, email: str) -> dict[str, str]:
    evidence = platform.url("evidence")
    for _ in range(3):  # Kafka on a loaded shared machine may answer late: 503, try again
        asked = await http.post(f"{evidence}/home/sign-in", data={"email": email}, headers=JSON)
        if asked.status_code != 503:
            break
        await asyncio.sleep(5)
    assert asked.status_code == 202, asked.text
    [mailed] = wait_for_messages(infra.mailbox_dir, email, subject="Sign in to your badges")
    link = re.search(rf"{re.escape(evidence)}/sign-in/address/\S+", plain_body(mailed))
    assert link, plain_body(mailed)
    # The link alone (GET) signs nobody in.
    opened = await http.get(link.group(0), headers=JSON)
    assert opened.status_code == 200 and "set-cookie" not in opened.headers
    signed = await http.post(link.group(0), headers=JSON)
    assert signed.status_code == 200, signed.text
    return dict(signed.cookies)


async def test_home_name_choice_progress_and_rebuild(http, platform, organiser, infra):
    evidence, badges = platform.url("evidence"), platform.url("badge")
    learner = f"int.{uuid.uuid4().hex[:8]}@example.org"
    other = f"other.{uuid.uuid4().hex[:8]}@example.org"
    activities, prize = await playlist_badge(http, platform, organiser, "Riverside walk")
    first = await claim_by_email(http, platform, organiser, infra, activities[0], learner)
    single = await published_badge(http, platform, organiser, "Map reading")
    await claim_by_email(http, platform, organiser, infra, single, other)
    await platform.caught_up("evidence", "badge.events")

    cookies = await _signed_in(http, platform, infra, learner)
    home = (await http.get(f"{evidence}/home", headers=JSON, cookies=cookies)).json()
    assert home["addresses"] == [learner]
    assert [a["badge_name"] for a in home["awards"]] == [activities[0]["name"]]
    [shown] = home["awards"]
    assert shown["state"] == "valid" and shown["issuer_name"] == "Riverside Youth Centre"
    assert shown["assertion_url"] == first["assertion_url"]
    # Both downloads are baked: the PNG, and an SVG holding the PNG.
    formats = {d["format"]: d["url"] for d in shown["downloads"]}
    png = await http.get(formats["PNG"])
    assert png.headers["content-type"] == "image/png" and b"openbadges" in png.content
    svg = await http.get(formats["SVG"])
    assert svg.headers["content-type"].startswith("image/svg+xml"), svg.text[:200]
    assert f'verify="{first["assertion_url"]}"'.encode() in svg.content
    assert b"data:image/png;base64," in svg.content

    playlists = (await http.get(f"{evidence}/home/playlists", headers=JSON, cookies=cookies)).json()
    [progress] = playlists["playlists"]
    assert (progress["earned"], progress["total"]) == (1, 2)
    assert progress["next"] == activities[1]["name"]
    assert progress["playlist_id"] == prize["source_id"]

    # The masked address by default; the chosen name once the badge service has it.
    page = f"{badges}/badges/{first['assertion_id']}"
    before = (await http.get(page, headers=JSON)).json()
    assert before["holder"] == before["masked_email"] and learner not in str(before)
    bad = await http.post(
        f"{evidence}/home/badges/{first['assertion_id']}/name",
        data={"show_name": "yes", "name": "  "},
        headers=JSON,
        cookies=cookies,
    )
    assert bad.status_code == 422, bad.text
    chosen = await http.post(
        f"{evidence}/home/badges/{first['assertion_id']}/name",
        data={"show_name": "yes", "name": "Ana Lima"},
        headers=JSON,
        cookies=cookies,
    )
    assert chosen.status_code == 200, chosen.text

    async def named() -> bool:
        return bool((await http.get(page, headers=JSON)).json()["holder"] == "Ana Lima")

    assert await wait_for(named, timeout=30)

    await platform.caught_up("evidence", "evidence.events")
    for service in ("evidence", "badge"):
        code, said = _verify(platform, service)
        assert code == 0, said
