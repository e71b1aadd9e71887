"""Schemathesis against each service's published OpenAPI, with every check, authenticated as a
bootstrapped organiser: no server error, no answer the document does not describe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import Platform, bearer, wait_for

# Bounded: a few minutes for the four services together on a small machine.
MAX_EXAMPLES = 25
CONFIG = Path(__file__).parent / "schemathesis.toml"
# Each run gets an organiser of its own: the fuzzer may revoke the key it runs with (it is an
# organiser's right), which must not leave the next service's run unauthenticated.
SERVICES_WITH_API = ("notifier", "evidence", "badge", "activity")


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
        cwd=report.parent,  # whatever the tool writes stays in the test's own folder
        timeout=600,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def readable(output: str) -> str:
    """The failures, each line cut short: generated bodies can be megabytes long."""
    lines = [line[:300] for line in output.splitlines()]
    return "\n".join(lines)[-15000:]


@pytest.mark.parametrize("service", SERVICES_WITH_API)
async def test_schemathesis_finds_nothing(platform: Platform, service: str, tmp_path: Path) -> None:
    organiser = platform.bootstrap(f"Fuzzing {service}", f"fuzz.{service}@example.org")
    # The key reaches the badge and evidence services a moment after it is issued.
    await wait_for(lambda: key_known(platform, organiser))
    code, output = fuzz(platform, service, organiser["api_key"], tmp_path / "events.ndjson")
    # Exit status 0: every check passed on every generated case (warnings aside).
    assert code == 0, readable(output)
    assert " passed" in output and "Test cases:" in output, readable(output)


async def key_known(platform: Platform, organiser: dict[str, str]) -> bool:
    async with httpx.AsyncClient(timeout=10) as client:
        for service in ("badge", "evidence"):
            answer = await client.get(
                f"{platform.url(service)}/v1/review-queue"
                if service == "evidence"
                else f"{platform.url(service)}/v1/badges",
                headers=bearer(organiser),
            )
            if answer.status_code != 200:
                return False
    return True
