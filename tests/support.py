"""What the integration and end-to-end tests share: a platform of their own (the local runner's,
with what only tests do to it: kill a service, wait for liveness), and helpers."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import Envelope, decode, new_envelope
from contracts.activity import ActivityPublished, OrganisationCreated
from contracts.services import SERVICES
from services.kernel.settings import KernelSettings
from services.local_runner import LocalPlatform
from tests.infrastructure import Infrastructure

# How long a test waits for a service it started to be ready. On a machine loaded by other
# work a service's imports alone can take most of a minute; a service that exits is reported
# at once, so the long wait costs only a start that hangs.
START_SECONDS = float(os.environ.get("PLATFORM_START_SECONDS", "") or 300)


class Platform(LocalPlatform):
    """A platform instance of its own (own topics, own schemas) for one test module."""

    infra: Infrastructure

    def wait_healthy(
        self, service: str, timeout: float = START_SECONDS, path: str = "/health/ready"
    ) -> dict[str, object]:
        # A module whose services cannot be ready by design (no SMTP server, say) waits for
        # them to be alive instead: its PLATFORM_ENV says so with WAIT_FOR.
        timeout = max(timeout, START_SECONDS)
        return super().wait_healthy(service, timeout, self.extra_env.get("WAIT_FOR", path))

    def kill(self, service: str) -> None:
        """SIGKILL: the crash the exactly-once machinery is built to survive."""
        process = self.processes.pop(service)
        process.kill()
        process.wait()

    @property
    def settings(self) -> KernelSettings:
        return KernelSettings(
            KAFKA_BOOTSTRAP_SERVERS=self.infra.kafka_bootstrap_servers,
            DATABASE_URL=self.infra.database_url,
            NAMESPACE=self.namespace,
        )

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    def schema(self, service: str) -> str:
        return self.settings.schema_name(service)

    async def query(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(
            self.infra.database_url, server_settings={"search_path": self.schema(service)}
        )
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def end_offsets(self, topic: str) -> dict[int, int]:
        producer = AIOKafkaProducer(bootstrap_servers=self.infra.kafka_bootstrap_servers)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.infra.kafka_bootstrap_servers)
        await producer.start()
        await consumer.start()
        try:
            found = await producer.partitions_for(self.topic(topic))
            assert found, f"topic {self.topic(topic)} has no partitions"
            partitions = [TopicPartition(self.topic(topic), p) for p in sorted(found)]
            ends = await consumer.end_offsets(partitions)
            return {tp.partition: offset for tp, offset in ends.items()}
        finally:
            await consumer.stop()
            await producer.stop()

    async def read_topic(self, topic: str, raw: bool = False) -> list[Any]:
        """Everything in a topic now, decoded (or raw records for the dead-letter topics)."""
        ends = await self.end_offsets(topic)
        if not any(ends.values()):
            return []
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.infra.kafka_bootstrap_servers, auto_offset_reset="earliest"
        )
        await consumer.start()
        found: list[Any] = []
        try:
            partitions = [TopicPartition(self.topic(topic), p) for p in ends]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            remaining = {tp: ends[tp.partition] for tp in partitions if ends[tp.partition] > 0}
            while remaining:
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset < ends[tp.partition]:
                            found.append(record if raw else decode(record.value))
                    if await consumer.position(tp) >= ends[tp.partition]:
                        remaining.pop(tp, None)
        finally:
            await consumer.stop()
        return found

    async def caught_up(self, service: str, topic: str, timeout: float = 60.0) -> None:
        """Wait until `service` has applied everything now in `topic`."""
        ends = await self.end_offsets(topic)

        async def done() -> bool:
            rows = await self.query(
                service,
                "SELECT partition, next_offset FROM consumer_offsets WHERE topic = $1",
                self.topic(topic),
            )
            stored = {row["partition"]: row["next_offset"] for row in rows}
            return all(stored.get(p, 0) >= end for p, end in ends.items())

        await wait_for(done, timeout)

    async def drop_schemas(self) -> None:
        conn = await asyncpg.connect(self.infra.database_url)
        try:
            for service in SERVICES:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema(service)}" CASCADE')
        finally:
            await conn.close()


def bearer(who: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {who['api_key']}"}


async def wait_for(condition: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll an async condition until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await condition()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def created_organisation(
    name: str, organisation_id: uuid.UUID | None = None
) -> Envelope[OrganisationCreated]:
    """An organisation as the activity service writes it (first of its stream), its site and
    address under NAME.example.org."""
    organisation_id = organisation_id or uuid.uuid4()
    domain = f"{name.lower()}.example.org"
    return new_envelope(
        OrganisationCreated(
            organisation_id=organisation_id,
            name=name,
            url=f"https://{domain}",
            email=f"badges@{domain}",
        ),
        stream_id=organisation_id,
        stream_version=1,
        actor="test",
    )


def published_activity(
    title: str,
    *,
    organisation_id: uuid.UUID | None = None,
    activity_id: uuid.UUID | None = None,
    description: str = "",
    criteria: str = "",
) -> Envelope[ActivityPublished]:
    """An activity published as the activity service writes it (first of its stream), for
    tests that put events in a log themselves."""
    activity_id = activity_id or uuid.uuid4()
    return new_envelope(
        ActivityPublished(
            activity_id=activity_id,
            organisation_id=organisation_id or uuid.uuid4(),
            title=title,
            description=description,
            criteria=criteria,
            starts_at=None,
            ends_at=None,
            place=None,
        ),
        stream_id=activity_id,
        stream_version=1,
        actor="test",
    )


def envelopes_of(events: list[Envelope[Any]], event_type: str) -> list[Envelope[Any]]:
    return [event for event in events if event.event_type == event_type]


async def badge_of(http: Any, platform: Platform, who: dict[str, str], source_id: str) -> Any:
    """The badge made from an activity or playlist, once the badge service has made it."""

    async def found() -> Any:
        answer = await http.get(
            f"{platform.url('badge')}/v1/badges",
            params={"source_id": source_id},
            headers=bearer(who),
        )
        # A new organiser's key reaches the badge service a moment after it is issued.
        return answer.json() if answer.status_code == 200 else None

    return (await wait_for(found))[0]
