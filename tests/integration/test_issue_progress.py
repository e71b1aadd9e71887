"""A bulk issue's progress on the real platform: its id in the answer, its offers counted by
email status while the notifier mails them, its offers listed apart, and the invited peer
reviewers read back. Another organisation sees none of it."""

from __future__ import annotations

import uuid

from tests.support import bearer, envelopes_of, wait_for
from tests.support_flows import published_badge, unique_email
from tests.support_mail import wait_for_messages


async def test_a_csv_issue_is_counted_until_every_email_is_sent(http, platform, organiser, infra):
    badge = await published_badge(http, platform, organiser, "Progress")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    good = [unique_email("p1"), unique_email("p2")]
    csv = f"email\n{good[0]}\nnot an address\n{good[1]}\n"
    headers = {**bearer(organiser), "Idempotency-Key": "progress-csv"}
    answer = await http.post(
        f"{base}/offers/csv",
        headers=headers,
        files={"file": ("people.csv", csv.encode(), "text/csv")},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    issue_id = body["issue_id"]
    assert body["progress_url"] == f"{base}/issues/{issue_id}"
    assert [(r["row"], r["value"]) for r in body["rejected"]] == [(3, "not an address")]

    # Something else issued meanwhile is not counted in this issue.
    single = await http.post(f"{base}/offers", headers=bearer(organiser), json={"email": good[0]})
    assert single.json()["issue_id"] != issue_id

    async def all_sent():
        progress = (await http.get(body["progress_url"], headers=bearer(organiser))).json()
        return progress if progress["sent"] == 2 else None

    progress = await wait_for(all_sent)
    assert progress["offers"] == 2 and progress["failed"] == 0 and progress["pending"] == 0
    assert progress["done"] is True and progress["claimed"] == 0
    for email in good:
        wait_for_messages(infra.mailbox_dir, email, subject=badge["name"])

    listed = await http.get(
        f"{base}/offers", headers=bearer(organiser), params={"issue_id": issue_id}
    )
    assert sorted(o["recipient_email"] for o in listed.json()) == sorted(good)
    everything = await http.get(f"{base}/offers", headers=bearer(organiser))
    assert len(everything.json()) == 3

    # A retry under the same key is the same issue, and makes nothing new to count.
    again = await http.post(
        f"{base}/offers/csv",
        headers=headers,
        files={"file": ("people.csv", csv.encode(), "text/csv")},
    )
    assert again.status_code == 200 and again.json()["issue_id"] == issue_id
    recount = await http.get(body["progress_url"], headers=bearer(organiser))
    assert recount.json()["offers"] == 2


async def test_an_issue_just_made_is_not_done_until_its_emails_are(http, platform, organiser):
    badge = await published_badge(http, platform, organiser, "Progress pending")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    emails = [unique_email(f"q{n}") for n in range(30)]
    answer = await http.post(f"{base}/offers", headers=bearer(organiser), json={"emails": emails})
    progress = (await http.get(answer.json()["progress_url"], headers=bearer(organiser))).json()
    # The offers are in the read model when the answer comes; their emails follow.
    assert progress["offers"] == 30
    assert progress["pending"] + progress["sent"] + progress["retrying"] == 30

    async def done():
        now = (await http.get(answer.json()["progress_url"], headers=bearer(organiser))).json()
        return now if now["done"] else None

    assert (await wait_for(done))["sent"] == 30


async def test_peer_reviewers_are_listed_and_others_see_nothing(
    http, platform, organiser, other_organiser
):
    badge = await published_badge(http, platform, organiser, "Reviewers listed")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    empty = await http.get(f"{base}/peer-reviewers", headers=bearer(organiser))
    assert empty.status_code == 200 and empty.json() == {"emails": []}
    await http.post(
        f"{base}/peer-reviewers",
        headers=bearer(organiser),
        json={"emails": ["Zoe@Example.org", "ada@example.org"]},
    )
    listed = await http.get(f"{base}/peer-reviewers", headers=bearer(organiser))
    assert listed.json() == {"emails": ["ada@example.org", "zoe@example.org"]}

    issued = await http.post(
        f"{base}/offers", headers=bearer(organiser), json={"email": unique_email("x")}
    )
    progress_url = issued.json()["progress_url"]
    for url in (f"{base}/peer-reviewers", progress_url):
        refused = await http.get(url, headers=bearer(other_organiser))
        assert refused.status_code == 403, (url, refused.text)


async def test_a_csv_accepted_to_be_worked_later_survives_a_kill_and_issues_nothing_twice(
    http, platform, organiser, infra
):
    """`Prefer: respond-async`: the answer (202) comes before the offers are made; the badge
    service killed (SIGKILL) while it makes them resumes after its restart, and every row is
    one offer, once, whatever was made before the kill. The same request again is the same
    issue and makes nothing."""
    badge = await published_badge(http, platform, organiser, "Progress later")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    rows = 600
    people = [unique_email(f"later{n}") for n in range(rows)]
    csv = "email\n" + "\n".join(people[:3]) + "\nnot an address\n" + "\n".join(people[3:]) + "\n"
    headers = {**bearer(organiser), "Idempotency-Key": "later-csv", "Prefer": "respond-async"}
    files = {"file": ("people.csv", csv.encode(), "text/csv")}
    answer = await http.post(f"{base}/offers/csv", headers=headers, files=files)
    assert answer.status_code == 202, answer.text
    assert answer.headers["preference-applied"] == "respond-async"
    body = answer.json()
    assert body["rows"] == rows and body["progress_url"] == f"{base}/issues/{body['issue_id']}"
    assert [(r["row"], r["value"]) for r in body["rejected"]] == [(5, "not an address")]
    # Recorded in the log before the answer: the request is there whatever happens next.
    requested = await platform.query(
        "badge",
        "SELECT rows, rejected_count FROM bulk_issues WHERE issue_id = $1::uuid",
        body["issue_id"],
    )
    assert [(r["rows"], r["rejected_count"]) for r in requested] == [(rows, 1)]

    async def some_offers() -> bool:
        made = await platform.query(
            "badge", "SELECT count(*) AS n FROM offers WHERE issue_id = $1::uuid", body["issue_id"]
        )
        return made[0]["n"] > 0

    await wait_for(some_offers, timeout=120, interval=0.01)
    platform.kill("badge")
    at_kill = (
        await platform.query(
            "badge", "SELECT count(*) AS n FROM offers WHERE issue_id = $1::uuid", body["issue_id"]
        )
    )[0]["n"]
    platform.start("badge")
    platform.wait_healthy("badge")

    async def done() -> dict | None:
        progress = await http.get(body["progress_url"], headers=bearer(organiser))
        found = progress.json() if progress.status_code == 200 else {}
        return found if found.get("done") else None

    progress = await wait_for(done, timeout=600, interval=1)
    assert progress["rows"] == rows and progress["offers"] == rows, progress
    assert progress["sent"] + progress["failed"] == rows and progress["offers_made"] is True
    assert progress["rejected_count"] == 1 and progress["error"] is None
    listed = await http.get(
        f"{base}/offers", headers=bearer(organiser), params={"issue_id": body["issue_id"]}
    )
    assert sorted(o["recipient_email"] for o in listed.json()) == sorted(people)
    offered = envelopes_of(await platform.read_topic("badge.events"), "BadgeOffered")
    mine = [e for e in offered if e.correlation_id == uuid.UUID(body["issue_id"])]
    assert len({e.event_id for e in mine}) == rows, "an offer was made twice under two ids"
    print(f"\nbulk issue: killed with {at_kill}/{rows} offers made; all {rows} made once after")

    again = await http.post(f"{base}/offers/csv", headers=headers, files=files)
    assert again.status_code == 202 and again.json()["issue_id"] == body["issue_id"]
    recount = await http.get(body["progress_url"], headers=bearer(organiser))
    assert recount.json()["offers"] == rows
