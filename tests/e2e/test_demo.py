"""The `demo` command walks the flow against a running platform, as the README tells people to."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.infrastructure import REPO


def test_demo_walks_publish_issue_and_claim(platform, organiser, infra, tmp_path):
    assert infra.mailbox_url, "the demo reads mail through MAILBOX_URL"
    key_file = tmp_path / "demo-organiser.json"
    key_file.write_text(json.dumps(organiser))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.demo",
            "--activity-url",
            platform.url("activity"),
            "--badge-url",
            platform.url("badge"),
            "--key-file",
            str(key_file),
            "--mailbox-url",
            infra.mailbox_url,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    steps = [json.loads(line) for line in done.stdout.splitlines()]
    by_step = {step["step"]: step for step in steps}
    assert list(by_step) == [
        "organiser",
        "activity drafted",
        "activity published",
        "badge created",
        "open badges BadgeClass",
        "open badges Issuer",
        "badge image",
        "issued to emails",
        "claim email received",
        "badge claimed",
    ]
    claimed = [step for step in steps if step["step"] == "badge claimed"]
    assert sorted(s["email"] for s in claimed) == sorted(by_step["issued to emails"]["emails"])
    for step in claimed:
        assert step["assertion_url"].startswith(platform.url("badge") + "/ob/assertions/")
    assert by_step["organiser"]["organisation"] == "Riverside Youth Centre"
    badge_class = by_step["open badges BadgeClass"]["document"]
    assert badge_class["type"] == "BadgeClass"
    assert badge_class["description"] == by_step["badge created"]["description"]
    assert by_step["open badges Issuer"]["document"]["type"] == "Issuer"
    assert by_step["badge image"]["media_type"] == "image/png"
