"""Finds the real Kafka, PostgreSQL and SMTP server the integration tests use.

In order: the addresses in KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL / SMTP_HOST / SMTP_PORT
(what deploy/local/test.sh sets after starting deploy/local/infra.sh); else containers from
testcontainers where a Docker engine answers. Without either the tests fail and say how to
start the infrastructure: they never fall back to fakes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.kernel.settings import KernelSettings
from services.local_runner import free_port

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Infrastructure:
    kafka_bootstrap_servers: str
    database_url: str
    smtp_host: str
    smtp_port: int
    mailbox_dir: Path | None
    mailbox_url: str | None = None

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "DATABASE_URL": self.database_url,
            "SMTP_HOST": self.smtp_host,
            "SMTP_PORT": str(self.smtp_port),
        }

    def kernel_settings(self, partitions: int | None = None) -> KernelSettings:
        """Settings for a runtime a test builds itself: these servers, topics and schemas of
        its own (a new namespace), and `partitions` a topic if given."""
        settings = KernelSettings(
            KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap_servers,
            DATABASE_URL=self.database_url,
            NAMESPACE=f"t{uuid.uuid4().hex[:10]}",
        )
        if partitions is None:
            return settings
        return settings.model_copy(update={"topic_partitions": partitions})


def _docker_engine_answers() -> bool:
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@contextlib.contextmanager
def _from_containers(scratch: Path) -> Iterator[Infrastructure]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    smtp_port, http_port = free_port(), free_port()
    mailbox = scratch / "mailbox"
    smtp = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "deploy/local/mailbox.py"),
            "--dir",
            str(mailbox),
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(http_port),
        ],
    )
    try:
        with (
            KafkaContainer("apache/kafka:4.1.0").with_kraft() as kafka,
            PostgresContainer("postgres:16", driver=None) as postgres,
        ):
            yield Infrastructure(
                kafka.get_bootstrap_server(),
                postgres.get_connection_url(),
                "127.0.0.1",
                smtp_port,
                mailbox,
                f"http://127.0.0.1:{http_port}",
            )
    finally:
        smtp.terminate()
        smtp.wait()


@contextlib.contextmanager
def infrastructure(scratch: Path) -> Iterator[Infrastructure]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL"):
        mailbox = os.environ.get("MAILBOX_DIR")
        yield Infrastructure(
            os.environ["KAFKA_BOOTSTRAP_SERVERS"],
            os.environ["DATABASE_URL"],
            os.environ.get("SMTP_HOST", "127.0.0.1"),
            int(os.environ.get("SMTP_PORT", "2525")),
            Path(mailbox) if mailbox else None,
            os.environ.get("MAILBOX_URL"),
        )
        return
    if _docker_engine_answers():
        with _from_containers(scratch) as found:
            yield found
        return
    raise RuntimeError(
        "no Kafka/PostgreSQL/SMTP for the integration tests: run them with "
        "`bash deploy/local/test.sh`, or start `bash deploy/local/infra.sh start` and "
        '`eval "$(bash deploy/local/infra.sh env)"` first'
    )


def wait_until(predicate: object, timeout: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(interval)
    raise TimeoutError("condition not met in time")
