"""A platform for the learner home's test modules that waits longer for its services on a
loaded machine (imports alone can take a minute there) and stops what it started when a
service never becomes ready, so a failed start leaves no processes behind."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.services import SERVICES
from services.local_runner import free_port
from tests.infrastructure import Infrastructure
from tests.support import Platform

READY_WITHIN_SECONDS = 300.0


class PatientPlatform(Platform):
    def wait_healthy(
        self, service: str, timeout: float = READY_WITHIN_SECONDS, path: str = "/health/ready"
    ) -> dict[str, object]:
        return super().wait_healthy(service, max(timeout, READY_WITHIN_SECONDS), path)


def patient_platform(
    infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory, env: dict[str, Any]
) -> Iterator[Platform]:
    running = PatientPlatform(
        run_dir=Path(tmp_path_factory.mktemp("platform")),
        namespace=f"t{uuid.uuid4().hex[:10]}",
        ports={service: free_port() for service in SERVICES},
        extra_env={**infra.env(), **env},
    )
    running.infra = infra
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()
        asyncio.run(running.drop_schemas())
