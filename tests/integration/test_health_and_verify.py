"""Issue 14 items 2 and 4: readiness tells the truth (here: the notifier without SMTP), its
progress comes from PostgreSQL and survives a restart, and `verify` compares a running
service's read models with a rebuild, row by row."""

from __future__ import annotations

import json
import socket
import subprocess

from tests.infrastructure import REPO
from tests.support import Platform
from tests.support_flows import published_badge


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PLATFORM_ENV = {
    "NOTIFIER_SMTP_PORT": str(_closed_port()),
    "NOTIFIER_SMTP_ATTEMPTS": "1",
    # The notifier is alive but, without SMTP, not ready: wait for it to answer at all.
    "WAIT_FOR": "/health/live",
}


def _verify(platform: Platform, service: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        platform.command(service, "verify", "--rounds", "2"),
        cwd=REPO,
        env=platform.env(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr.decode()[-3000:]
    return done.returncode, done.stdout.decode().strip().splitlines()


async def test_the_notifier_without_smtp_is_alive_but_not_ready(http, platform):
    notifier = platform.url("notifier")
    ready = await http.get(f"{notifier}/health/ready")
    assert ready.status_code == 503, ready.text
    checks = ready.json()["checks"]
    assert not checks["smtp"]["ok"] and "does not answer" in checks["smtp"]["problem"]
    assert checks["kafka"]["ok"] and checks["postgresql"]["ok"]
    assert (await http.get(f"{notifier}/health")).status_code == 503
    assert (await http.get(f"{notifier}/health/live")).status_code == 200


async def test_progress_survives_a_restart_and_shows_each_partition(http, platform, organiser):
    await published_badge(http, platform, organiser, "Progress")
    platform.wait_healthy("badge")
    before = (await http.get(f"{platform.url('badge')}/health/ready")).json()
    assert before["status"] == "ready" and before["applied"] > 0
    partitions = {(p["topic"], p["partition"]): p for p in before["partitions"]}
    activity = [p for (topic, _), p in partitions.items() if topic.endswith("activity.events")]
    assert activity and all(p["last_applied_at"] for p in activity if p["next_offset"])
    assert all(p["lag"] == 0 for p in activity if p["owned"])

    platform.kill("badge")
    platform.start("badge")
    platform.wait_healthy("badge")
    after = (await http.get(f"{platform.url('badge')}/health/ready")).json()
    # Read from PostgreSQL, not counted by the process: a restart does not set it to 0.
    assert after["applied"] >= before["applied"]


async def test_verify_finds_every_running_service_equal_to_its_rebuild(http, platform, organiser):
    await published_badge(http, platform, organiser, "Everywhere")
    for service in ("activity", "evidence", "notifier"):
        code, lines = _verify(platform, service)
        assert code == 0 and json.loads(lines[-1])["same"], (service, lines)


async def test_verify_finds_a_running_service_equal_to_its_rebuild_and_shows_a_changed_row(
    http, platform, organiser
):
    await published_badge(http, platform, organiser, "Verified")
    code, lines = _verify(platform, "badge")
    summary = json.loads(lines[-1])
    assert code == 0 and summary["same"] and summary["differing_rows"] == 0, lines
    assert summary["tables"]["badge_classes"]["live"] >= 1

    # A row the log does not explain: verify prints it and fails.
    await platform.query("badge", "UPDATE badge_classes SET name = 'Tampered' WHERE true")
    code, lines = _verify(platform, "badge")
    assert code == 1, lines
    differences = [json.loads(line) for line in lines[:-1]]
    assert differences and all(d["table"] == "badge_classes" for d in differences)
    assert differences[0]["live"]["name"] == "Tampered"
    assert differences[0]["rebuilt"]["name"] != "Tampered"
    assert differences[0]["columns"] == ["name"]
    assert json.loads(lines[-1])["differing_rows"] == len(differences)
