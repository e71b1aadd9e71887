"""A platform for the catalogue's test modules that waits longer for its services to be ready
(on a machine shared by many, a service can take minutes to start) and stops what it started
when a start fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from contracts.services import SERVICES
from services.local_runner import free_port
from tests.infrastructure import Infrastructure
from tests.support import Platform

START_SECONDS = 300.0


class PatientPlatform(Platform):
    def wait_healthy(
        self, service: str, timeout: float = 60.0, path: str = "/health/ready"
    ) -> dict[str, object]:
        return super().wait_healthy(service, max(timeout, START_SECONDS), path)


def patient_platform(
    infra: Infrastructure, run_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Platform]:
    running = PatientPlatform(
        run_dir=run_dir,
        namespace=f"t{uuid.uuid4().hex[:10]}",
        ports={service: free_port() for service in SERVICES},
        extra_env={**infra.env(), **(extra_env or {})},
    )
    running.infra = infra
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()
        asyncio.run(running.drop_schemas())


def module_env(module: Any) -> dict[str, str]:
    return dict(getattr(module, "PLATFORM_ENV", {}))


async def sent(request: Callable[[], Awaitable[httpx.Response]], tries: int = 8) -> httpx.Response:
    """A write, tried again while the service answers 503 (Kafka did not take it in time: it
    changed nothing), as its Retry-After says; a shared broker under load does that."""
    for _ in range(tries - 1):
        answer = await request()
        if answer.status_code != 503:
            return answer
        await asyncio.sleep(float(answer.headers.get("retry-after", "2")))
    return await request()
