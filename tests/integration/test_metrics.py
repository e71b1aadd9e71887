"""Every service's /metrics under a burst (issue 13 item 4): a bulk issue moves the partitions'
ends, every consumer's lag goes back to 0, and the counters of events applied, emails sent and
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


async def test_metrics_of_every_service_follow_a_burst(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
) -> None:
    badge = await published_badge(http, platform, organiser, "Metrics")
    before = {service: await scrape(http, platform, service) for service in SERVICES}
    ends_before = total(before["notifier"], "consumer_end_offset", topic="badge.events")

    domain = f"metrics-{uuid.uuid4().hex[:8]}.example.org"
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers={**bearer(organiser), "Idempotency-Key": "metrics-burst"},
        json={"emails": [f"learner{n}@{domain}" for n in range(OFFERS)]},
    )
    assert answer.status_code == 201 and answer.json()["created"] == OFFERS

    deadline = asyncio.get_running_loop().time() + 180
    highest_lag = 0.0
    while True:
        now = {service: await scrape(http, platform, service) for service in SERVICES}
        highest_lag = max([highest_lag, *lags(now["notifier"]).values()])
        sent = total(now["notifier"], "emails_sent_total", kind="offer")
        settled = all(
            lags(now[service]) and not any(lags(now[service]).values())
            for service in ("badge", "evidence", "notifier")
        )
        if settled and sent >= OFFERS:
            break
        assert asyncio.get_running_loop().time() < deadline, {
            service: lags(now[service]) for service in SERVICES
        }
        await asyncio.sleep(0.5)
    print(f"\nhighest notifier lag seen during the burst: {highest_lag:.0f}")

    # The ends moved by the burst, and the lag (end - next) came back to 0 on every partition.
    ends_after = total(now["notifier"], "consumer_end_offset", topic="badge.events")
    assert ends_after - ends_before >= OFFERS
    for service in ("badge", "evidence", "notifier"):
        assert any(topic == "badge.events" for topic, _ in lags(now[service])), service
        assert total(now[service], "consumer_offsets_readable") == 1
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
