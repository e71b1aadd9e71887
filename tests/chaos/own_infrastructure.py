"""Kafka, PostgreSQL and an SMTP mailbox of the chaos tests' own, on ports of their own, so
they can be killed and restarted while the shared infrastructure lives on."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from services.local_runner import free_port
from tests.infrastructure import REPO, Infrastructure

PARTS = ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "PG_PORT", "SMTP_PORT", "MAILBOX_HTTP_PORT")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[1][:1] != "Z"


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(") ", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
    return found


@dataclass
class OwnInfrastructure:
    # Under /tmp rather than pytest's private folder: PostgreSQL runs as its own user and
    # must reach its data folder.
    run_dir: Path = field(
        default_factory=lambda: Path(f"/tmp/kernel-data/chaos-{uuid.uuid4().hex[:8]}")
    )
    ports: dict[str, int] = field(default_factory=lambda: {part: free_port() for part in PARTS})
    # deploy/local/infra.sh of this checkout (its Kafka jars come from deploy/local/install.sh);
    # CHAOS_INFRA_SCRIPT points at another copy of it.
    script: Path = field(
        default_factory=lambda: Path(
            os.environ.get("CHAOS_INFRA_SCRIPT", REPO / "deploy/local/infra.sh")
        )
    )

    def _script_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RUN_DIR": str(self.run_dir),
            "KAFKA_HEAP_OPTS": "-Xms256m -Xmx768m",
            **{part: str(port) for part, port in self.ports.items()},
        }

    def _script(self, command: str, timeout: float = 300) -> None:
        done = subprocess.run(
            ["bash", str(self.script), command],
            env=self._script_env(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"infra.sh {command} failed: {done.stderr.decode()[-3000:]}")

    def start(self) -> None:
        """Start whatever part is down, and wait until every part answers."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o755)
        self.run_dir.parent.chmod(0o755)
        # A part that is slow to come back after a kill (Kafka's JVM on a loaded machine) is
        # asked for again. (The long form's mailbox "never came back" because infra.sh waited
        # on a listing of every kept message, seconds with thousands; it now asks /health.)
        for attempt in range(3):
            try:
                self._script("start")
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._script("stop", timeout=180)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    @property
    def infrastructure(self) -> Infrastructure:
        return Infrastructure(
            kafka_bootstrap_servers=f"127.0.0.1:{self.ports['KAFKA_PORT']}",
            database_url=f"postgresql://badges:badges@127.0.0.1:{self.ports['PG_PORT']}/badges",
            smtp_host="127.0.0.1",
            smtp_port=self.ports["SMTP_PORT"],
            mailbox_dir=self.run_dir / "mailbox",
            mailbox_url=f"http://127.0.0.1:{self.ports['MAILBOX_HTTP_PORT']}",
        )

    def env(self) -> dict[str, str]:
        """What a platform on this infrastructure is started with."""
        infra = self.infrastructure
        return {
            **infra.env(),
            "NOTIFIER_SMTP_HOST": infra.smtp_host,
            "NOTIFIER_SMTP_PORT": str(infra.smtp_port),
        }

    # -- faults ------------------------------------------------------------------------------

    def _pid(self, name: str) -> int | None:
        if name == "postgres":
            pid_file = self.run_dir / "postgres" / "data" / "postmaster.pid"
        else:
            pid_file = self.run_dir / "pids" / f"{name}.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(pid_file.read_text().splitlines()[0])
        return None

    def kill(self, name: str) -> None:
        """SIGKILL one part ("kafka", "postgres" or "mailbox") and wait until it is gone."""
        pid = self._pid(name)
        assert pid is not None and _alive(pid), f"{name} is not running"
        # PostgreSQL's server is the postmaster and its children: all of them go at once, as
        # in a crash of the machine (children left behind would hold its shared memory).
        victims = [pid, *(_children(pid) if name == "postgres" else [])]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while any(_alive(v) for v in victims) and time.monotonic() < deadline:
            time.sleep(0.05)
