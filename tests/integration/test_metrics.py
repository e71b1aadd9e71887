"""Every service's /metrics under a burst (issue 13 item 4): a bulk issue moves the partitions'
ends, every service's consumer goes through the burst and its lag (against ends that include
the burst) goes back to 0, and the counters of events applied, emails sent and
HTTP requests (by route template) move."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from services.local_runner import SERVICES
from tests.support import Platform, bearer
from tests.support_flows import published_badge

OFFERS = 300


async def scrape(http: httpx.AsyncClient, platform: Platform, service: str) -> list[Sample]:
    answer = await http.get(f"{platform.url(service)}/metrics")
    assert answer.status_code == 200, (service, answer.text[:500])
    assert answer.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(answer.text) for s in family.samples]


def total(samples: Iterable[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def lags(samples: Iterable[Sample]) -> dict[tuple[str, str], float]:
    return {
        (s.labels["topic"], s.labels["partition"]): s.value
        for s in samples
        if s.name == "consumer_lag_records"
    }


def per_partition(samples: Iterable[Sample], name: str, topic: str) -> dict[int, float]:
    return {
        int(s.labels["partition"]): s.value
        for s in samples
        if s.name == name and s.labels.get("topic") == topic
    }


def settled(samples: list[Sample], burst_end: dict[int, int]) -> bool:
    """Lag 0 on every partition the service owns, against ends of badge.events that include
    the burst (an end from before it, of a consumer that stopped fetching, shows 0 as well)."""
    ends = per_partition(samples, "consumer_end_offset", "badge.events")
    return (
        bool(lags(samples))
        and not any(lags(samples).values())
        and all(ends.get(p, -1) >= end for p, end in burst_end.items())
    )


async def test_metrics_of_every_service_follow_a_burst(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
) -> None:
    badge = await published_badge(http, platform, organiser, "Metrics")
    before = {name: await scrape(http, platform, name) for name in SERVICES}
    ends_before = total(before["notifier"], "consumer_end_offset", topic="badge.events")
    next_before = {
        name: per_partition(before[name], "consumer_next_offset", "badge.events")
        for name in SERVICES
    }

    domain = f"metrics-{uuid.uuid4().hex[:8]}.example.org"
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers={**bearer(organiser), "Idempotency-Key": "metrics-burst"},
        json={"emails": [f"learner{n}@{domain}" for n in range(OFFERS)]},
    )
    assert answer.status_code == 201 and answer.json()["created"] == OFFERS
    # Where the burst ends, per partition, as Kafka itself says (not the services).
    burst_end = await platform.end_offsets("badge.events")
    assert sum(burst_end.values()) - ends_before >= OFFERS

    deadline = asyncio.get_running_loop().time() + 180
    highest_lag = dict.fromkeys(SERVICES, 0.0)
    while True:
        now = {name: await scrape(http, platform, name) for name in SERVICES}
        for name in SERVICES:
            highest_lag[name] = max([highest_lag[name], *lags(now[name]).values()])
        sent = total(now["notifier"], "emails_sent_total", kind="offer")
        if all(settled(now[name], burst_end) for name in SERVICES) and sent >= OFFERS:
            break
        assert asyncio.get_running_loop().time() < deadline, {
            name: (lags(now[name]), per_partition(now[name], "consumer_end_offset", "badge.events"))
            for name in SERVICES
        }
        await asyncio.sleep(0.5)

    # Each service went through the whole burst: its stored offsets were below it before
    # (the burst's records were all still to apply), now they are at Kafka's ends after it,
    # and its lag against those ends is 0 on every partition.
    print()
    for name in SERVICES:
        next_after = per_partition(now[name], "consumer_next_offset", "badge.events")
        through = sum(next_after.get(p, 0) - next_before[name].get(p, 0) for p in burst_end)
        print(
            f"{name}: badge.events applied through {through:.0f} records (next offsets "
            f"{dict(sorted(next_before[name].items()))} -> {dict(sorted(next_after.items()))}, "
            f"Kafka's ends after the burst {dict(sorted(burst_end.items()))}); highest lag "
            f"scraped {highest_lag[name]:.0f}, now {sum(lags(now[name]).values()):.0f}"
        )
        assert through >= OFFERS, name
        assert all(next_after.get(p, 0) >= end for p, end in burst_end.items()), name
        assert total(now[name], "consumer_offsets_readable") == 1
    # The notifier records each email in Kafka before it commits the next: 300 of them take
    # a while, and the scrapes saw its lag before it came back to 0.
    assert highest_lag["notifier"] > 0
    # The ends the services report moved by the burst.
    ends_after = total(now["notifier"], "consumer_end_offset", topic="badge.events")
    assert ends_after - ends_before >= OFFERS
    # The services that read the badge service's offers applied each; the badge service itself
    # applied them when the request wrote them, so its consumer finds them applied already.
    for service in ("evidence", "notifier"):
        offered = "events_applied_total"
        moved = total(now[service], offered, topic="badge.events", event_type="BadgeOffered")
        moved -= total(before[service], offered, topic="badge.events", event_type="BadgeOffered")
        assert moved >= OFFERS, service
    assert total(now["notifier"], "emails_sent_total", kind="offer") >= OFFERS
    assert total(now["notifier"], "emails_failed_total") == 0

    # Requests by route template, never by raw path.
    route = "/v1/badges/{badge_class_id}/offers"
    posted = total(now["badge"], "http_request_duration_seconds_count", method="POST", route=route)
    assert posted >= 1
    assert total(now["badge"], "http_request_duration_seconds_bucket", route=route, le="+Inf") >= 1
    routes = {s.labels.get("route") for s in now["badge"] if "route" in s.labels}
    assert not any(badge["id"] in str(r) for r in routes), routes
    activity_routes = {s.labels.get("route") for s in now["activity"] if "route" in s.labels}
    assert "/v1/activities/{activity_id}/publish" in activity_routes, activity_routes
    # Each service's own topic is replayed at start: the replay's progress is there too.
    assert total(now["badge"], "replay_running") == 0
