"""A request whose transaction sent its events to Kafka and then failed to commit: the consumer
finds the claim and its outcome in one batch, and applies both, once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts import encode, new_envelope
from contracts.badge import ClaimRequested
from services.badge.adapters import read_models
from services.badge.domain.model import decide_claim, outcome_id
from tests.support import bearer, wait_for
from tests.support_flows import published_badge
from tests.support_mail import claim_link, wait_for_messages


async def test_claim_and_outcome_left_uncommitted_are_applied_from_the_log(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "Uncommitted")
    learner = f"uncommitted.{uuid.uuid4().hex[:8]}@example.org"
    offer_id = (
        await http.post(
            f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
            headers=bearer(organiser),
            json={"email": learner},
        )
    ).json()["offers"][0]["offer_id"]
    link = claim_link(wait_for_messages(infra.mailbox_dir, learner)[0])
    badge_id = uuid.UUID(badge["id"])

    conn = await asyncpg.connect(
        infra.database_url, server_settings={"search_path": platform.schema("badge")}
    )
    try:
        state = await read_models.get_badge_class(conn, badge_id)
        offer = await read_models.get_offer(conn, uuid.UUID(offer_id))
        version = await conn.fetchval(
            "SELECT version FROM stream_versions WHERE stream_id = $1", badge_id
        )
    finally:
        await conn.close()
    assert state is not None and offer is not None
    # What the request's transaction had decided and sent before its commit failed.
    request = new_envelope(
        ClaimRequested(offer_id=offer.offer_id, badge_class_id=badge_id, request_id=uuid.uuid4()),
        stream_id=badge_id,
        stream_version=version + 1,
        actor="learner",
    )
    outcome = decide_claim(state, offer, request, False, "Riverside Youth Centre")
    decided = new_envelope(
        outcome,
        event_id=outcome_id(request),
        stream_id=badge_id,
        stream_version=version + 2,
        occurred_at=request.occurred_at,
        causation_id=request.event_id,
        actor="service:badge",
    )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, linger_ms=50)
    await producer.start()
    try:
        sent = [
            await producer.send(
                platform.topic("badge.events"), encode(e), key=str(badge_id).encode()
            )
            for e in (request, decided)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()

    async def awarded():
        rows = await platform.query(
            "badge", "SELECT assertion_id FROM offers WHERE offer_id = $1", offer.offer_id
        )
        return rows[0]["assertion_id"]

    assert await wait_for(awarded) == decided.event_id
    claims = await platform.query(
        "badge",
        "SELECT outcome FROM claim_requests WHERE request_id = $1",
        request.payload.request_id,
    )
    assert claims[0]["outcome"] == "awarded"
    again = await http.post(link, headers={"Accept": "application/json"})
    assert again.status_code == 409
    assertions = await platform.query(
        "badge", "SELECT count(*) AS n FROM assertions WHERE recipient_email = $1", learner
    )
    assert assertions[0]["n"] == 1
