"""Operators see the platform (issue 13 item 4): the metric names and labels each service
exposes, request latency labelled by route template, and JSON log lines that carry the ids of
what they are about."""

from __future__ import annotations

import io
import json
import logging
import uuid
from dataclasses import dataclass, field

import httpx
from aiokafka import TopicPartition
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest

from contracts.notifier import TOPIC, EmailDeferred
from services.kernel import logs
from services.kernel.in_memory import InMemoryUnitOfWork
from services.kernel.metrics import METRICS, Metrics
from services.kernel.web.metrics import UNMATCHED, RequestMetrics
from services.notifier.adapters.in_memory import InMemoryMailState
from services.notifier.delivery import Courier, Email
from services.notifier.domain.attempts import Attempt, Delivery
from services.notifier.handlers import build_handlers
from services.notifier.policies import MailPolicies
from tests.support_notifier import POLICY, FakeMailer, fake_compose, offered


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def fresh() -> Metrics:
    metrics = Metrics(CollectorRegistry())
    metrics.name_topics({"t1.badge.events": "badge.events"})
    return metrics


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_events_applied_and_dead_lettered_are_counted_by_contract_topic_and_type() -> None:
    metrics = fresh()
    metrics.applied("t1.badge.events", ["BadgeOffered", "BadgeOffered", "BadgeAwarded"])
    metrics.dead_lettered(Record("t1.badge.events", 0, 7, [("event_type", b"BadgeOffered")]))
    metrics.dead_lettered(Record("t1.badge.events", 1, 3))  # undecodable: no header
    applied = "events_applied_total"
    assert value(metrics, applied, topic="badge.events", event_type="BadgeOffered") == 2
    assert value(metrics, applied, topic="badge.events", event_type="BadgeAwarded") == 1
    dead = "events_dead_lettered_total"
    assert value(metrics, dead, topic="badge.events", event_type="BadgeOffered") == 1
    assert value(metrics, dead, topic="badge.events", event_type="unknown") == 1


def test_consumer_lag_per_partition_follows_each_scrape() -> None:
    metrics = fresh()
    metrics.consumer_progress(
        [
            {
                "topic": "t1.badge.events",
                "partition": 0,
                "next_offset": 40,
                "end_offset": 100,
                "lag": 60,
                "last_applied_age_seconds": 1.5,
            },
            {
                "topic": "t1.badge.events",
                "partition": 1,
                "next_offset": 5,
                "end_offset": None,
                "lag": None,  # not owned by this instance
                "last_applied_age_seconds": None,
            },
        ]
    )
    at0 = {"topic": "badge.events", "partition": "0"}
    assert value(metrics, "consumer_lag_records", **at0) == 60
    assert value(metrics, "consumer_next_offset", **at0) == 40
    assert value(metrics, "consumer_end_offset", **at0) == 100
    assert value(metrics, "consumer_last_applied_age_seconds", **at0) == 1.5
    at1 = {"topic": "badge.events", "partition": "1"}
    assert value(metrics, "consumer_next_offset", **at1) == 5
    assert value(metrics, "consumer_lag_records", **at1) is None
    assert value(metrics, "consumer_offsets_readable") == 1

    metrics.consumer_progress(None)  # PostgreSQL away: nothing stale is shown
    assert value(metrics, "consumer_lag_records", **at0) is None
    assert value(metrics, "consumer_offsets_readable") == 0


def test_replay_progress_shows_position_and_end_per_partition() -> None:
    metrics = fresh()
    metrics.replay_begins({TopicPartition("t1.badge.events", 0): 10})
    assert value(metrics, "replay_running") == 1
    metrics.replayed([Record("t1.badge.events", 0, n) for n in range(4)])
    at0 = {"topic": "badge.events", "partition": "0"}
    assert value(metrics, "replay_position", **at0) == 4
    assert value(metrics, "replay_end_offset", **at0) == 10
    assert value(metrics, "replay_records_total", topic="badge.events") == 4
    # A catch-up batch (one partition's records) says so without a walk over its records.
    metrics.replayed_up_to(TopicPartition("t1.badge.events", 0), 3, 7)
    assert value(metrics, "replay_position", **at0) == 7
    assert value(metrics, "replay_records_total", topic="badge.events") == 7
    metrics.replay_ends()
    assert value(metrics, "replay_running") == 0


async def test_request_latency_is_labelled_by_route_template_never_the_raw_path() -> None:
    metrics = fresh()
    app = FastAPI()

    @app.get("/v1/badges/{badge_id}")
    async def badge(badge_id: str) -> dict[str, str]:
        return {"id": badge_id}

    app.add_middleware(RequestMetrics, metrics=metrics)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for n in range(3):
            answer = await client.get(f"/v1/badges/{n}", headers={"X-Request-ID": f"req-{n}"})
            assert answer.headers["x-request-id"] == f"req-{n}"
        missing = await client.get("/nowhere/secret-token")
        assert missing.status_code == 404 and len(missing.headers["x-request-id"]) == 32
    count = "http_request_duration_seconds_count"
    route = {"method": "GET", "route": "/v1/badges/{badge_id}", "status": "200"}
    assert value(metrics, count, **route) == 3
    assert value(metrics, count, method="GET", route=UNMATCHED, status="404") == 1
    exposed = generate_latest(metrics.registry).decode()
    assert "secret-token" not in exposed and "/v1/badges/1" not in exposed


def json_lines() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonLines())
    handler.addFilter(logs.WhatItIsAbout())
    logger = logging.getLogger(f"test-json-{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, out


def test_json_lines_carry_the_event_and_correlation_ids_of_what_they_are_about() -> None:
    logger, out = json_lines()
    event_id, correlation_id = uuid.uuid4(), uuid.uuid4()
    logger.info("before")
    with logs.about_event(event_id, "BadgeOffered", correlation_id):
        logger.warning("mailing %s", "ana@example.org")
        with logs.about_event(uuid.uuid4(), "EmailSent", correlation_id):
            logger.info("derived")
        logger.info("back")
    with logs.about_request("req-7"):
        try:
            raise ValueError("broken\nacross lines")
        except ValueError:
            logger.exception("failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 5  # one object per line, the traceback inside its line
    before, mailing, derived, back, failed = [json.loads(line) for line in lines]
    assert "event_id" not in before and "correlation_id" not in before
    assert mailing["message"] == "mailing ana@example.org" and mailing["level"] == "WARNING"
    assert mailing["event_id"] == str(event_id) and mailing["event_type"] == "BadgeOffered"
    assert mailing["correlation_id"] == str(correlation_id)
    assert derived["event_type"] == "EmailSent" and derived["event_id"] != str(event_id)
    assert back["event_id"] == str(event_id)
    assert failed["correlation_id"] == "req-7" and "event_id" not in failed
    assert "ValueError: broken" in failed["exception"]
    assert failed["time"].endswith("+00:00") and failed["logger"] == logger.name


def test_text_format_is_kept_for_a_terminal() -> None:
    assert logs.LogSettings(LOG_FORMAT="text").log_format == "text"
    assert logs.LogSettings().log_format == "json"


def sample(name: str, **labels: str) -> float:
    return METRICS.registry.get_sample_value(name, labels) or 0.0


async def test_a_deferred_attempt_counts_and_its_retry_counts_as_retried() -> None:
    mailer = FakeMailer()

    state = InMemoryMailState()
    courier = Courier(mailer, POLICY)
    policies = MailPolicies(fake_compose, courier, lambda uow: state)
    handlers = build_handlers(policies, projections=state.projections())
    deferred_before = sample("emails_deferred_total", kind="offer")
    retried_before = sample("emails_retried_total", kind="offer")
    mailer.outcomes = [Delivery(sent=False, error="451 later")]
    uow = InMemoryUnitOfWork(handlers, own_topic=TOPIC)
    offer = offered("ben@example.org")
    await uow.receive(offer)
    [deferral] = [e for e in uow.emitted if isinstance(e.payload, EmailDeferred)]
    assert sample("emails_deferred_total", kind="offer") == deferred_before + 1

    waiting = await state.email(deferral.stream_id)
    assert waiting is not None
    [composed] = await fake_compose(uow.conn, state.sources[offer.event_id])
    email = Email(composed, offer.event_id, offer.event_id, offer.correlation_id)
    retry = InMemoryUnitOfWork(handlers, own_topic=TOPIC)
    await courier.attempt(retry, email, Attempt.after(waiting))
    assert sample("emails_retried_total", kind="offer") == retried_before + 1
