"""A completed evidence quest (as the evidence service announces it) makes the badge service
award the badge once, with the evidence in an Assertion the official validator accepts."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer

from contracts import encode, new_envelope
from contracts.badge import EvidenceItem
from contracts.evidence import QuestCompleted
from tests.support import bearer, wait_for
from tests.support_flows import ob_verify, published_badge
from tests.support_mail import wait_for_messages


async def test_quest_completed_awards_once_with_its_evidence(http, platform, organiser, infra):
    badge = await published_badge(http, platform, organiser, "Evidence")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    edited = await http.patch(
        base,
        headers=bearer(organiser),
        json={"evidence_mode": "self", "tasks": [{"title": "What you built", "kind": "text"}]},
    )
    assert edited.status_code == 200, edited.text
    learner = f"quester.{uuid.uuid4().hex[:8]}@example.org"
    offer_id = uuid.UUID(
        (
            await http.post(f"{base}/offers", headers=bearer(organiser), json={"email": learner})
        ).json()["offers"][0]["offer_id"]
    )
    wait_for_messages(infra.mailbox_dir, learner)

    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        for _ in range(2):  # a second completion (another quest on the same offer) awards nothing
            quest_id = uuid.uuid4()
            completed = QuestCompleted(
                quest_id=quest_id,
                badge_class_id=uuid.UUID(badge["id"]),
                offer_id=offer_id,
                learner_email=learner,
                evidence=(
                    EvidenceItem(
                        narrative="What you built: a rain barrel for the garden.",
                        url=f"{platform.url('evidence')}/evidence/{quest_id}",
                    ),
                ),
            )
            envelope = new_envelope(
                completed, stream_id=quest_id, stream_version=5, actor="service:evidence"
            )
            await producer.send_and_wait(
                platform.topic("evidence.events"), encode(envelope), key=str(quest_id).encode()
            )
    finally:
        await producer.stop()

    async def assertions():
        return await platform.query(
            "badge",
            "SELECT assertion_id, reason FROM assertions WHERE recipient_email = $1",
            learner,
        )

    [awarded] = await wait_for(assertions)
    await platform.caught_up("badge", "evidence.events")
    assert len(await assertions()) == 1 and awarded["reason"] == "evidence"
    url = f"{platform.url('badge')}/ob/assertions/{awarded['assertion_id']}"
    document = (await http.get(url)).json()
    assert document["evidence"][0]["narrative"].startswith("What you built")
    assert document["evidence"][0]["id"].startswith(platform.url("evidence"))
    verified = ob_verify(url, learner)
    assert verified.returncode == 0, verified.stdout[-3000:]
    wait_for_messages(infra.mailbox_dir, learner, subject="Your badge")
