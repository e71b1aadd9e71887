"""What a service tells Prometheus: its consumer's lag per partition, the events it applied and
dead-lettered by type, how far a replay (a rebuild, verify, catching up at start) has come, and
(services/kernel/web/metrics.py) its HTTP requests' latency by route.

One registry per process (a service is one process); the consumer counts what it committed,
after the commit, so a batch rolled back and applied again is counted once.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Seconds: requests mostly take milliseconds; writes wait at most KAFKA_WRITE_TIMEOUT_SECONDS.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        partition = ["topic", "partition"]
        self.events_applied = Counter(
            "events_applied",
            "Events applied by the consumer (committed with their offsets), by topic and type",
            ["topic", "event_type"],
            registry=r,
        )
        self.events_dead_lettered = Counter(
            "events_dead_lettered",
            "Records sent to the dead-letter topic, by topic and event type (unknown: undecodable)",
            ["topic", "event_type"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "consumer_lag_records",
            "Records in a partition this instance owns that are not applied yet (end - next)",
            partition,
            registry=r,
        )
        self.consumer_next_offset = Gauge(
            "consumer_next_offset",
            "The next offset to apply, as stored with the state in PostgreSQL",
            partition,
            registry=r,
        )
        self.consumer_end_offset = Gauge(
            "consumer_end_offset",
            "The partition's end as Kafka last told this instance (owned partitions only)",
            partition,
            registry=r,
        )
        self.consumer_last_applied_age = Gauge(
            "consumer_last_applied_age_seconds",
            "Seconds since the partition's offset was last stored",
            partition,
            registry=r,
        )
        self.consumer_offsets_readable = Gauge(
            "consumer_offsets_readable",
            "1 when the stored offsets could be read for this scrape, else 0",
            registry=r,
        )
        self.replay_running = Gauge(
            "replay_running",
            "1 while the service replays a log to its end (a rebuild, verify, or catching up "
            "on its own log at start)",
            registry=r,
        )
        self.replay_records = Counter(
            "replay_records",
            "Records a replay has read and applied, by topic",
            ["topic"],
            registry=r,
        )
        self.replay_position = Gauge(
            "replay_position",
            "The next offset a replay will apply, per partition",
            partition,
            registry=r,
        )
        self.replay_end_offset = Gauge(
            "replay_end_offset",
            "The offset a replay runs to, per partition",
            partition,
            registry=r,
        )
        self.http_request_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP requests by method, route template (never the raw path) and status",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._contract_topic: dict[str, str] = {}

    def name_topics(self, contract_topic_of: Mapping[str, str]) -> None:
        """Label topics by their contract name ("badge.events"), not the namespaced one."""
        self._contract_topic.update(contract_topic_of)

    def topic(self, topic: str) -> str:
        return self._contract_topic.get(topic, topic)

    # -- the consumer's hooks ----------------------------------------------------------------

    def applied(self, topic: str, event_types: Iterable[str]) -> None:
        # Counted per type, not per event: a replay's batch holds thousands of one type.
        for event_type, count in collections.Counter(event_types).items():
            self.events_applied.labels(self.topic(topic), event_type).inc(count)

    def dead_lettered(self, record: Any) -> None:
        """A record gone to the dead-letter topic; its type from its header, if it has one."""
        headers = dict(record.headers or ())
        event_type = headers.get("event_type", b"unknown").decode(errors="replace")
        self.events_dead_lettered.labels(self.topic(record.topic), event_type).inc()

    def replay_begins(self, end: Mapping[Any, int]) -> None:
        self.replay_running.set(1)
        for tp, offset in end.items():
            self.replay_end_offset.labels(self.topic(tp.topic), str(tp.partition)).set(offset)

    def replayed(self, records: Iterable[Any]) -> None:
        counts: collections.Counter[str] = collections.Counter()
        positions: dict[tuple[str, int], int] = {}
        for record in records:
            counts[record.topic] += 1
            key = (record.topic, record.partition)
            positions[key] = max(positions.get(key, 0), record.offset + 1)
        for topic, count in counts.items():
            self.replay_records.labels(self.topic(topic)).inc(count)
        for (topic, partition), position in positions.items():
            self.replay_position.labels(self.topic(topic), str(partition)).set(position)

    def replayed_up_to(self, partition: Any, records: int, next_offset: int) -> None:
        """`replayed`, for records of one partition (a TopicPartition) read up to an offset."""
        topic = self.topic(partition.topic)
        self.replay_records.labels(topic).inc(records)
        self.replay_position.labels(topic, str(partition.partition)).set(next_offset)

    def replay_ends(self) -> None:
        self.replay_running.set(0)

    # -- read at each scrape -----------------------------------------------------------------

    def consumer_progress(self, partitions: list[dict[str, Any]] | None) -> None:
        """The consumer's progress (EventConsumer.progress()), or None when it is unreadable."""
        gauges = (
            self.consumer_lag,
            self.consumer_next_offset,
            self.consumer_end_offset,
            self.consumer_last_applied_age,
        )
        for gauge in gauges:
            gauge.clear()  # a partition handed to another instance is no longer ours to show
        self.consumer_offsets_readable.set(0 if partitions is None else 1)
        for found in partitions or ():
            labels = (self.topic(found["topic"]), str(found["partition"]))
            self.consumer_next_offset.labels(*labels).set(found["next_offset"])
            if found["end_offset"] is not None:
                self.consumer_end_offset.labels(*labels).set(found["end_offset"])
            if found["lag"] is not None:
                self.consumer_lag.labels(*labels).set(found["lag"])
            if found["last_applied_age_seconds"] is not None:
                age = found["last_applied_age_seconds"]
                self.consumer_last_applied_age.labels(*labels).set(age)


METRICS = Metrics()


class MetricsSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # Where a command that serves no HTTP (rebuild, verify) answers /metrics while it runs.
    metrics_port: int | None = Field(default=None, ge=1, le=65535, validation_alias="METRICS_PORT")
    metrics_host: str = Field(default="127.0.0.1", validation_alias="METRICS_HOST")


def serve_while_replaying(settings: MetricsSettings | None = None) -> int | None:
    """For rebuild and verify: /metrics on METRICS_PORT (if set), from a thread of its own."""
    settings = settings or MetricsSettings()
    if settings.metrics_port is not None:
        start_http_server(
            settings.metrics_port, addr=settings.metrics_host, registry=METRICS.registry
        )
    return settings.metrics_port
