"""`checksum` and `rebuild` of every service run with only Kafka, PostgreSQL and the namespace in
their environment: no claim-link secret, no session secret (issue 14, item 7). A notifier
rebuild that meets an email still to send, without the secret to sign its link, stops before
sending it and dead-letters nothing; the service sends it once it runs."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from contracts.services import SERVICES
from tests.support import bearer, wait_for
from tests.support_flows import published_badge
from tests.support_mail import claim_link, messages_to, wait_for_messages


def run_bare(platform, cwd: Path, service: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator types it, with nothing but the three infrastructure settings."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": platform.infra.kafka_bootstrap_servers,
        "DATABASE_URL": platform.infra.database_url,
        "NAMESPACE": platform.namespace,
    }
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}", *args],
        cwd=cwd,  # relative defaults (the badge's blob folder) land in the test's folder
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


async def test_checksum_and_rebuild_need_no_secrets(http, platform, organiser, infra, tmp_path):
    domain = f"bare-{uuid.uuid4().hex[:8]}.example.org"
    badge = await published_badge(http, platform, organiser, "Bare replay")
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"emails": [f"learner{i}@{domain}" for i in range(3)]},
    )
    assert answer.status_code == 201, answer.text
    for i in range(3):
        wait_for_messages(infra.mailbox_dir, f"learner{i}@{domain}")
    for service, topic in [("notifier", "badge.events"), ("badge", "notifier.events")]:
        await platform.caught_up(service, topic)
    platform.stop_all()

    before = {s: last_line(run_bare(platform, tmp_path, s, "checksum")) for s in SERVICES}
    for service in SERVICES:
        tables = run_bare(platform, tmp_path, service, "checksum", "--tables")
        assert tables.returncode == 0, tables.stderr[-3000:]
    reports = {
        s: json.loads(last_line(run_bare(platform, tmp_path, s, "rebuild"))) for s in SERVICES
    }
    after = {s: last_line(run_bare(platform, tmp_path, s, "checksum")) for s in SERVICES}
    assert after == before, reports
    assert reports["notifier"]["own_records"] >= 3
    for i in range(3):
        assert len(messages_to(infra.mailbox_dir, f"learner{i}@{domain}")) == 1

    # An offer the notifier has not mailed yet: its rebuild without the secret must not send it
    # (a link under a key nobody keeps would not open), nor dead-letter it.
    platform.start("badge")
    platform.wait_healthy("badge")
    late = f"late@{domain}"
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"email": late},
    )
    assert answer.status_code == 201, answer.text

    async def offered() -> bool:
        events = await platform.read_topic("badge.events")
        return any(getattr(e.payload, "recipient_email", None) == late for e in events)

    await wait_for(offered)
    stopped = run_bare(platform, tmp_path, "notifier", "rebuild")
    assert stopped.returncode != 0
    # One clear last line, not a traceback.
    said = stopped.stderr.strip().splitlines()[-1]
    assert said.startswith("notifier: an email is still to be sent"), stopped.stderr[-3000:]
    assert late in said and "CLAIM_TOKEN_SECRET" in said
    assert "Field required" not in stopped.stderr
    assert messages_to(infra.mailbox_dir, late) == []
    assert await platform.read_topic("notifier.dead-letter", raw=True) == []

    platform.start("notifier")
    platform.wait_healthy("notifier")
    link = claim_link(wait_for_messages(infra.mailbox_dir, late)[0])
    opened = await http.get(link, headers={"Accept": "application/json"})
    assert opened.status_code == 200, opened.text
