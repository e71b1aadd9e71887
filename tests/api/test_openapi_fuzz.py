"""Schemathesis against each service's published OpenAPI, with every check, authenticated as a
bootstrapped organiser: no server error, no answer the document does not describe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import Platform, bearer

# Bounded: a few minutes for the four services together on a small machine.
MAX_EXAMPLES = 15
CONFIG = Path(__file__).parent / "schemathesis.toml"
SERVICES_WITH_API = ("activity", "badge", "evidence", "notifier")


def fuzz(platform: Platform, service: str, key: str, report: Path) -> tuple[int, str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "run",
            f"{platform.url(service)}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20261201",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--header",
            f"Authorization: Bearer {key}",
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("service", SERVICES_WITH_API)
async def test_schemathesis_finds_nothing(
    platform: Platform, organiser: dict[str, str], service: str, tmp_path: Path
) -> None:
    # The key reaches the badge and evidence services a moment after it is issued.
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(100):
            seen = await client.get(f"{platform.url('badge')}/v1/badges", headers=bearer(organiser))
            if seen.status_code == 200:
                break
    code, output = fuzz(platform, service, organiser["api_key"], tmp_path / "events.ndjson")
    assert code == 0, output[-12000:]
    assert "No issues found" in output or "0 failures" in output or code == 0, output[-4000:]
    _ = json  # the ndjson report stays in tmp_path for a look after a failure
