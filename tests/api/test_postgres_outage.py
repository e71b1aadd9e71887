"""PostgreSQL stops under a running platform: reads and writes answer 503 with Retry-After (JSON,
or a page for browsers) in one log line each, and the services answer again once it is back.

The platform runs on a PostgreSQL of its own, started and stopped here; the shared one is never
touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contracts.services import SERVICES
from services.local_runner import free_port
from tests.infrastructure import Infrastructure
from tests.support import Platform, bearer
from tests.support_flows import published_badge

PAGE = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@dataclass
class OwnPostgres:
    """A throwaway PostgreSQL cluster on a port of its own."""

    folder: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql://badges:badges@127.0.0.1:{self.port}/badges"

    def run(self, *command: str) -> None:
        # PostgreSQL refuses to run as root; as root, act as the postgres user (as infra.sh).
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, cwd="/", timeout=120)

    def init(self) -> None:
        data = self.folder / "data"
        self.run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.folder}'\nfsync = off\n"
            )
        self.start()
        for sql in (
            "CREATE ROLE badges LOGIN PASSWORD 'badges'",
            "CREATE DATABASE badges OWNER badges",
        ):
            self.run(
                str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                "-d", "postgres", "-c", sql,
            )  # fmt: skip

    def start(self) -> None:
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
            "-l", str(self.folder / "postgres.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"
        )


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    assert found, "PostgreSQL is not installed (deploy/local/install.sh installs it)"
    return found[-1].parent


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    # Under /tmp itself: the postgres user must be able to reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="outage-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = OwnPostgres(folder, free_port(), _postgres_bin())
    cluster.init()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def outage_platform(
    infra: Infrastructure, own_postgres: OwnPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(
        run_dir=Path(tmp_path_factory.mktemp("outage-platform")),
        namespace=f"t{uuid.uuid4().hex[:10]}",
        ports={service: free_port() for service in SERVICES},
        extra_env={**infra.env(), "DATABASE_URL": own_postgres.url},
    )
    running.infra = infra
    running.start_all()
    try:
        yield running
    finally:
        running.stop_all()


async def test_postgres_down_is_503_with_retry_after_then_recovers(
    outage_platform: Platform, own_postgres: OwnPostgres
) -> None:
    platform = outage_platform
    organiser = platform.bootstrap("Outage Youth Centre", "olga@outage.example.org")
    async with httpx.AsyncClient(timeout=30) as http:
        badge = await published_badge(http, platform, organiser, "Outage radio")
        document = f"{platform.url('badge')}/ob/badge-classes/{badge['id']}"
        assert (await http.get(document)).status_code == 200

        own_postgres.stop()
        requests = [
            ("GET", document, JSON),
            ("GET", f"{platform.url('activity')}/v1/me", {**JSON, **bearer(organiser)}),
            ("GET", f"{platform.url('badge')}/v1/badges", bearer(organiser)),
        ]
        for method, url, headers in requests:
            answer = await http.request(method, url, headers=headers)
            assert answer.status_code == 503, (url, answer.status_code, answer.text)
            assert int(answer.headers["retry-after"]) > 0, url
            assert "try again" in answer.json()["error"], url
        write = await http.post(
            f"{platform.url('activity')}/v1/activities",
            json={"title": "While the database is down"},
            headers=bearer(organiser),
        )
        assert write.status_code == 503 and "retry-after" in write.headers
        page = await http.get(document, headers=PAGE)
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
        assert "Temporarily unavailable" in page.text and 'href="/"' in page.text

        # One line for each refused request, no traceback from the HTTP side.
        log = (platform.run_dir / "logs" / "badge.log").read_text()
        lines = [line for line in log.splitlines() if f"/ob/badge-classes/{badge['id']}:" in line]
        # (Repeats of one line within the log filter's window are counted, not written.)
        assert 1 <= len(lines) <= 2 and all(": 503, " in line for line in lines), lines
        assert "Internal Server Error" not in log

        own_postgres.start()
        for _ in range(150):
            if (await http.get(document)).status_code == 200:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(
                "the badge service did not answer again after PostgreSQL came back"
            )
        mine = await http.get(f"{platform.url('activity')}/v1/me", headers=bearer(organiser))
        assert mine.status_code == 200
