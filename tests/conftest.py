"""Marks each test by its folder, and starts real platform processes for the tests that need
them, against the real infrastructure."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.local_runner import PROCESSES, free_port
from tests.infrastructure import Infrastructure, infrastructure
from tests.support import Platform


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/e2e/" in path:
            item.add_marker(pytest.mark.e2e)
        elif "/tests/browser/" in path:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    with infrastructure(tmp_path_factory.mktemp("infra")) as found:
        # Services started by the tests and settings built in them read these.
        os.environ.update(found.env())
        yield found


@pytest.fixture(scope="module")
def platform(
    infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Platform]:
    """The four services and the console, each on a free port, in a namespace of their own. A
    test module may set PLATFORM_ENV to start its platform with other settings."""
    running = Platform(
        run_dir=Path(tmp_path_factory.mktemp("platform")),
        namespace=f"t{uuid.uuid4().hex[:10]}",
        ports={service: free_port() for service in PROCESSES},
        extra_env={**infra.env(), **getattr(request.module, "PLATFORM_ENV", {})},
    )
    running.infra = infra
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()
        asyncio.run(running.drop_schemas())


@pytest.fixture(scope="module")
def organiser(platform: Platform) -> dict[str, str]:
    return platform.bootstrap("Riverside Youth Centre", "ana@riverside.example.org")


@pytest.fixture(scope="module")
def other_organiser(platform: Platform) -> dict[str, str]:
    return platform.bootstrap("Hillside School", "ben@hillside.example.org")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
