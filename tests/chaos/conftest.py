"""The chaos suite's own infrastructure and platform. Short form by default; CHAOS_LONG=1
runs the long form (more load, every fault several times)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.services import SERVICES
from services.local_runner import free_port
from tests.chaos.own_infrastructure import OwnInfrastructure
from tests.support import Platform

LONG = os.environ.get("CHAOS_LONG") == "1"
# The bound a write waits on Kafka before it answers 503 (KAFKA_WRITE_TIMEOUT_SECONDS).
WRITE_TIMEOUT = 3.0
# How much later than the bound a refused write may be answered, as its client measures it:
# the rollback, giving its connection back and the answer take milliseconds; the rest is the
# request's wait for the event loop on a shared two-core machine while Kafka's JVM restarts.
WRITE_MARGIN = 0.5


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/chaos/" in str(item.path):
            item.add_marker(pytest.mark.chaos)


@pytest.fixture(scope="session")
def own_infra() -> Iterator[OwnInfrastructure]:
    infra = OwnInfrastructure()
    infra.start()
    try:
        yield infra
    finally:
        infra.stop()


@pytest.fixture(scope="module")
def chaos_platform(
    own_infra: OwnInfrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(
        run_dir=Path(tmp_path_factory.mktemp("chaos-platform")),
        namespace=f"c{uuid.uuid4().hex[:10]}",
        ports={service: free_port() for service in SERVICES},
        extra_env={
            **own_infra.env(),
            "KAFKA_WRITE_TIMEOUT_SECONDS": str(WRITE_TIMEOUT),
            # Ride out the SMTP outage of the campaign (the retry schedule is the notifier's).
            "NOTIFIER_SMTP_ATTEMPTS": "12",
        },
    )
    running.infra = own_infra.infrastructure
    running.start_all()
    try:
        yield running
    finally:
        running.stop_all()
        asyncio.run(running.drop_schemas())
