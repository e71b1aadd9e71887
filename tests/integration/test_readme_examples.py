"""The README's API examples, run as typed against a platform of this test's own: the curl
blocks under "Using the API", with the platform's addresses and an organiser's key put in.
Every request must succeed, so the test fails as soon as the README and the API part ways."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.support import bearer

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Using the API"


def readme_curl_blocks(text: str) -> list[str]:
    """The shell blocks of the section that call curl, in their order."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else len(text)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [block for block in blocks if "curl " in block]


def as_test_script(blocks: list[str], activity: str, badge: str, key: str) -> str:
    script = "\n".join(blocks)
    script = script.replace("localhost:8001", activity).replace("localhost:8002", badge)
    # The README reads the demo organiser's key from .run/; this platform has its own.
    script, keys = re.subn(r"^KEY=.*$", f"KEY='{key}'", script, flags=re.MULTILINE)
    assert keys == 1, "the README's examples no longer set KEY the way this test expects"
    # An answer of 4xx or 5xx fails the step (the README's -s alone would hide it).
    script = script.replace("curl -s ", "curl -sS --fail-with-body ")
    return "set -euo pipefail\n" + script


def json_documents(output: str) -> list[Any]:
    """curl prints each answer without a newline after it: the JSON documents, one by one."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(output, at)
        found.append(document)
    return found


def test_the_readme_names_the_fields_the_badge_api_takes():
    blocks = readme_curl_blocks(README.read_text())
    assert any("PATCH" in block and '"criteria"' in block for block in blocks), blocks


async def test_the_readme_examples_work_as_typed(http, platform, organiser, infra, tmp_path):
    blocks = readme_curl_blocks(README.read_text())
    assert len(blocks) >= 2, "the README's API examples are gone"
    script = as_test_script(
        blocks,
        platform.url("activity").removeprefix("http://"),
        platform.url("badge").removeprefix("http://"),
        organiser["api_key"],
    )
    ran = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, f"{script}\n--- stdout\n{ran.stdout}\n--- stderr\n{ran.stderr}"
    # What the examples did is there: the badge was edited as the README says.
    badges = await http.get(f"{platform.url('badge')}/v1/badges", headers=bearer(organiser))
    edited = [b for b in badges.json() if b["name"] == "Urban gardening"]
    assert edited, badges.text
    assert edited[0]["criteria_narrative"].startswith("Plant three seeds and keep them growing")
    assert edited[0]["expires_after_days"] == 365
    answers = json_documents(ran.stdout)
    assert "/claim/" in answers[-1]["url"], answers[-1]
    assert answers[-2]["created"] == 2, answers[-2]
