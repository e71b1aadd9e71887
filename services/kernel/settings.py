"""Where the infrastructure is. Read from the environment by each service's entrypoint."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KernelSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    database_url: str = Field(
        default="postgresql://badges:badges@127.0.0.1:5433/badges", validation_alias="DATABASE_URL"
    )
    # Lets several copies of the platform (tests, benchmarks) share one Kafka and PostgreSQL:
    # topics become "<namespace>.activity.events" and schemas "<namespace>_activity".
    namespace: str = Field(default="", pattern=r"^[a-z0-9_]{0,30}$", validation_alias="NAMESPACE")
    topic_partitions: int = Field(default=3, ge=1, le=64, validation_alias="TOPIC_PARTITIONS")
    # How long a write waits on Kafka (or on a lock or connection held by writes that wait on
    # it) before it answers 503 and changes nothing.
    write_timeout_seconds: float = Field(
        default=5.0, gt=0, le=120, validation_alias="KAFKA_WRITE_TIMEOUT_SECONDS"
    )
    # A partition with records to apply and no offset stored for this long is stuck: the
    # service reports itself not ready.
    stuck_after_seconds: float = Field(
        default=120.0, gt=0, validation_alias="CONSUMER_STUCK_AFTER_SECONDS"
    )

    def topic(self, name: str) -> str:
        return f"{self.namespace}.{name}" if self.namespace else name

    def dead_letter_topic(self, service: str) -> str:
        return self.topic(f"{service}.dead-letter")

    def schema_name(self, service: str) -> str:
        return f"{self.namespace}_{service}" if self.namespace else service
