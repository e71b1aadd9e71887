"""Several instances of a service in one consumer group: 3 badge instances and 2 notifiers
under a bulk issue and concurrent claims (and learners completing a playlist with two claims
at once, on two instances), one badge instance `kill -9`ed and one added mid-run. Every offer
is mailed (a duplicate at most per crash), every claim is decided once, every playlist badge
is awarded once, and the live checksums equal a single-instance rebuild of the same log.

Sized for a shared 2-core machine: SCALE_OFFERS (default 1,000) and SCALE_CLAIMS (200); the
issue's full run is SCALE_OFFERS=5000 SCALE_CLAIMS=500.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx

from contracts.services import SERVICES
from tests.support import Platform, bearer
from tests.support_flows import playlist_badge, published_badge
from tests.support_mail import claim_link, offer_ids_mailed, wait_for_messages

OFFERS = int(os.environ.get("SCALE_OFFERS", "1000"))
CLAIMS = int(os.environ.get("SCALE_CLAIMS", "200"))
PLAYLIST_LEARNERS = 10
JSON = {"Accept": "application/json"}


def on_instance(link: str, platform: Platform, name: str) -> str:
    """The same claim link, sent to one instance of the badge service."""
    parts = urlsplit(link)
    return urlunsplit(parts._replace(netloc=urlsplit(platform.url(name)).netloc))


async def claim(
    http: httpx.AsyncClient, platform: Platform, link: str, instances: list[str]
) -> tuple[int, float]:
    """POST the claim to a live instance (trying the next when one was just killed)."""
    started = time.perf_counter()
    for attempt in range(20):
        alive = [n for n in instances if n in platform.processes]
        name = random.choice(alive or platform.instances("badge"))
        try:
            answer = await http.post(on_instance(link, platform, name), headers=JSON)
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        if answer.status_code == 503 and attempt < 19:
            await asyncio.sleep(0.5)
            continue
        return answer.status_code, time.perf_counter() - started
    raise AssertionError(f"no instance took the claim {link}")


async def test_three_badge_and_two_notifier_instances_survive_a_kill_and_a_join(
    http, platform, organiser, infra
):
    badges = ["badge", platform.add_instance("badge"), platform.add_instance("badge")]
    notifiers = ["notifier", platform.add_instance("notifier")]
    for name in badges + notifiers:
        platform.wait_healthy(name)

    badge = await published_badge(http, platform, organiser, "Scaled")
    (first, second), playlist = await playlist_badge(http, platform, organiser, "Scaled path")
    domain = f"scale-{uuid.uuid4().hex[:8]}.example.org"

    # The bulk issue, through the second instance.
    issue_began = time.perf_counter()
    answer = await http.post(
        f"{platform.url(badges[1])}/v1/badges/{badge['id']}/offers",
        headers={**bearer(organiser), "Idempotency-Key": "scaled-bulk"},
        json={"emails": [f"learner{n}@{domain}" for n in range(OFFERS)]},
        timeout=120,
    )
    assert answer.status_code == 201, answer.text
    print(
        f"\nbulk issue: {answer.json()['created']} offers in one request, "
        f"{time.perf_counter() - issue_began:.1f} s"
    )
    offer_ids = {o["offer_id"] for o in answer.json()["offers"]}
    # Learners offered both activities of the playlist, through the third instance.
    path_learners = [f"path{n}@{domain}" for n in range(PLAYLIST_LEARNERS)]
    for activity_badge in (first, second):
        answer = await http.post(
            f"{platform.url(badges[2])}/v1/badges/{activity_badge['id']}/offers",
            headers=bearer(organiser),
            json={"emails": path_learners},
        )
        assert answer.status_code == 201, answer.text
        offer_ids |= {o["offer_id"] for o in answer.json()["offers"]}

    # Concurrent claims (each link clicked twice), spread over the instances; one instance
    # is killed once a quarter of them is under way, and another joins.
    claimers = [f"learner{n}@{domain}" for n in range(CLAIMS)]
    links = [
        claim_link(wait_for_messages(infra.mailbox_dir, learner, timeout=240)[0])
        for learner in claimers
    ]
    path_links = [
        [claim_link(m) for m in wait_for_messages(infra.mailbox_dir, learner, count=2, timeout=240)]
        for learner in path_learners
    ]
    gate = asyncio.Semaphore(16)
    started = asyncio.Event()
    done = 0

    async def one(link: str) -> tuple[int, float]:
        nonlocal done
        async with gate:
            found = await claim(http, platform, link, badges)
            done += 1
            if done >= CLAIMS // 4:
                started.set()
            return found

    async def crash_and_join() -> str:
        await started.wait()
        platform.kill(badges[1])
        joined = platform.add_instance("badge")
        badges.append(joined)
        await asyncio.to_thread(platform.wait_healthy, joined, 120)
        return joined

    # Both of a path learner's claims at once, on two different instances.
    async def both(pair: list[str]) -> list[tuple[int, float]]:
        alive = [n for n in badges if n in platform.processes]
        return list(
            await asyncio.gather(
                *(
                    claim(http, platform, link, [alive[n % len(alive)]])
                    for n, link in enumerate(pair)
                )
            )
        )

    claimed, pairs, _ = await asyncio.gather(
        asyncio.gather(*(one(link) for link in links + links)),
        asyncio.gather(*(both(pair) for pair in path_links)),
        crash_and_join(),
    )
    statuses = collections.Counter(status for status, _ in claimed)
    # Each link: one acceptance (200) and one "already claimed" (409), whichever came first;
    # a claim whose instance was killed after it committed is answered 409 when retried.
    assert set(statuses) <= {200, 409} and statuses[200] <= CLAIMS, statuses
    assert statuses[200] >= CLAIMS - 16, statuses  # at most the claims in flight at the kill
    for pair in pairs:
        assert {status for status, _ in pair} <= {200, 409}, pair

    # Every offer mailed: the claimers' and the rest, across the two notifiers.
    deadline = time.monotonic() + 300
    while not offer_ids <= set(offer_ids_mailed(infra.mailbox_dir, domain)):
        assert time.monotonic() < deadline, "not every offer was mailed"
        await asyncio.sleep(0.5)
    live = [n for n in badges if n in platform.processes]
    for topic in ("badge.events", "notifier.events", "activity.events"):
        await platform.caught_up("badge", topic, timeout=120)
    await platform.caught_up("notifier", "badge.events", timeout=120)
    counts = collections.Counter(offer_ids_mailed(infra.mailbox_dir, domain))
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    assert duplicates <= 1, f"{duplicates} offers mailed twice after one crash"
    print(
        f"offers: {len(offer_ids)} made, {len(offer_ids & set(counts))} mailed "
        f"({sum(counts.values())} offer emails), duplicates {duplicates}"
    )

    # Every claim decided once: one outcome per ClaimRequested in the log, one award per offer.
    events = await platform.read_topic("badge.events")
    outcomes: dict[uuid.UUID, set[uuid.UUID]] = collections.defaultdict(set)
    requests = set()
    for envelope in events:
        if envelope.event_type == "ClaimRequested":
            requests.add(envelope.event_id)
        elif envelope.event_type in ("BadgeAwarded", "ClaimRejected") and envelope.causation_id:
            outcomes[envelope.causation_id].add(envelope.event_id)
    assert requests and all(len(outcomes[r]) == 1 for r in requests)
    awards = list(
        {e.event_id: e.payload for e in events if e.event_type == "BadgeAwarded"}.values()
    )
    per_offer = collections.Counter(a.offer_id for a in awards if a.offer_id is not None)
    assert max(per_offer.values()) == 1
    assert sum(1 for a in awards if a.badge_class_id == uuid.UUID(badge["id"])) == CLAIMS
    for activity_badge in (first, second):
        held = [a for a in awards if a.badge_class_id == uuid.UUID(activity_badge["id"])]
        assert sorted(a.recipient_email for a in held) == sorted(path_learners)
    # Every playlist badge awarded once, to each learner who completed both activities.
    playlist_awards = collections.Counter(
        a.recipient_email for a in awards if a.badge_class_id == uuid.UUID(playlist["id"])
    )
    assert playlist_awards == dict.fromkeys(path_learners, 1), playlist_awards
    print(
        f"claims: {len(requests)} requested in the log, each decided once "
        f"({sum(len(outcomes[r]) for r in requests)} outcomes); answers {dict(statuses)}; "
        f"awards of the bulk badge {CLAIMS}, one per offer (max {max(per_offer.values())}); "
        f"playlist awards {sum(playlist_awards.values())} to {len(playlist_awards)} learners"
    )

    # The partitions are shared by the live instances (each has some), none is left behind.
    ready = [platform.wait_healthy(name) for name in live]
    owners = {
        p["owner"]
        for body in ready
        for p in body["partitions"]  # type: ignore[attr-defined]
        if p["owned"]
    }
    print(f"scale-out: {len(live)} badge instances own partitions as {sorted(owners)}")
    latencies = sorted(seconds for _, seconds in claimed)
    print(
        f"claims: {len(claimed)} clicks, p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms; duplicates {duplicates}"
    )

    # Checksums: the live state of the instances equals a single-instance rebuild of the log.
    platform.stop_all()
    before = {service: platform.run(service, "checksum") for service in SERVICES}
    reports = {service: json.loads(platform.run(service, "rebuild")) for service in SERVICES}
    after = {service: platform.run(service, "checksum") for service in SERVICES}
    assert after == before, reports
    for service in SERVICES:
        print(f"checksum {service}: live {before[service]} = one-instance rebuild {after[service]}")
    platform.start_all()
