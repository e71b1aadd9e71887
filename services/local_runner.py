"""Runs the four services, and the organiser console over them, as processes on this machine:
the local runner behind `deploy/local/up.sh`, and the same code the integration tests and
benchmarks start them with."""

from __future__ import annotations

import argparse
import contextlib
import email.parser as email_parser
import email.policy as email_policy
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from contracts.services import CATALOGUE, SERVICES
from services.kernel.parent import PARENT_PID

__all__ = ["DEFAULT_PORTS", "PROCESSES", "REPO", "SERVICES", "LocalPlatform", "free_port", "main"]

# Web services that write no topic and consume none (contracts/services.py lists those that
# do): they stand on the others' public APIs, so they start after them.
FRONTENDS = {"console": 8005}
PROCESSES: tuple[str, ...] = (*SERVICES, *FRONTENDS)
DEFAULT_PORTS = {service.name: service.default_http_port for service in CATALOGUE}
REPO = Path(__file__).resolve().parent.parent
READINESS_ANSWER_SECONDS = 8.0


def free_port() -> int:
    """A port free now, below the ephemeral range (from 32768 on Linux): an ephemeral one could
    be taken by some outgoing connection before the service binds it."""
    for _ in range(200):
        port = random.randint(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


@dataclass
class LocalPlatform:
    """The services of one platform instance, each a child process with its own log file."""

    run_dir: Path
    namespace: str = ""
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    # Claim links stay valid across restarts only while this stays the same.
    claim_token_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        """Where a service (or one instance of it, "badge.2") answers."""
        port = self.ports.get(service) or {**DEFAULT_PORTS, **FRONTENDS}[service]
        return f"http://127.0.0.1:{port}"

    @staticmethod
    def service_of(name: str) -> str:
        """The service an instance name stands for: "badge.2" -> "badge"."""
        return name.split(".", 1)[0]

    def instances(self, service: str) -> list[str]:
        """The running instances of a service: "badge", then "badge.2", "badge.3", ..."""
        return [name for name in self.processes if self.service_of(name) == service]

    def add_instance(self, service: str, port: int | None = None) -> str:
        """Start one more instance of `service` in its consumer group (its share of the
        partitions, its own HTTP port and log file); returns its name, e.g. "badge.2"."""
        number = 2
        while f"{service}.{number}" in self.ports:
            number += 1
        name = f"{service}.{number}"
        self.ports[name] = port or free_port()
        self.start(name)
        return name

    def kill(self, name: str) -> None:
        """`kill -9` one instance: no shutdown of any kind."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def env(self, instance: str | None = None) -> dict[str, str]:
        """The environment of the services; of one instance when `instance` names it (its
        own HTTP port; the public addresses stay the first instance's)."""
        env = dict(os.environ)
        env.update(
            {
                "NAMESPACE": self.namespace,
                "PYTHONUNBUFFERED": "1",
                "BADGE_PUBLIC_URL": self.url("badge"),
                "ACTIVITY_PUBLIC_URL": self.url("activity"),
                "BADGE_BLOB_DIR": str(self.run_dir / "blobs"),
                "CLAIM_TOKEN_SECRET": self.claim_token_secret,
                "NOTIFIER_BADGE_PUBLIC_URL": self.url("badge"),
                "NOTIFIER_EVIDENCE_PUBLIC_URL": self.url("evidence"),
                "BADGE_EVIDENCE_PUBLIC_URL": self.url("evidence"),
                "EVIDENCE_PUBLIC_URL": self.url("evidence"),
                "EVIDENCE_BLOB_DIR": str(self.run_dir / "evidence"),
                "EVIDENCE_SESSION_SECRET": self.claim_token_secret + "-sessions",
                "NOTIFIER_CONSOLE_PUBLIC_URL": self.url("console"),
                "CONSOLE_PUBLIC_URL": self.url("console"),
                "CONSOLE_ACTIVITY_URL": self.url("activity"),
                "CONSOLE_BADGE_URL": self.url("badge"),
                "CONSOLE_EVIDENCE_URL": self.url("evidence"),
                "BADGE_ISSUER_KEY_SECRETS": self.claim_token_secret + "-issuer-keys",
                "NOTIFIER_SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
                "NOTIFIER_SMTP_PORT": os.environ.get("SMTP_PORT", "2525"),
            }
        )
        for entry in CATALOGUE:
            if entry.name in self.ports:
                env[entry.http_port_setting] = str(self.ports[entry.name])
                env[entry.http_host_setting] = "127.0.0.1"
        for name in FRONTENDS:
            if name in self.ports:
                env[f"{name.upper()}_HTTP_PORT"] = str(self.ports[name])
                env[f"{name.upper()}_HTTP_HOST"] = "127.0.0.1"
        env.update(self.extra_env)
        if (
            instance is not None
            and instance in self.ports
            and self.service_of(instance) in SERVICES
        ):
            entry = next(e for e in CATALOGUE if e.name == self.service_of(instance))
            env[entry.http_port_setting] = str(self.ports[instance])
        return env

    def command(self, service: str, *args: str) -> list[str]:
        return [sys.executable, "-m", f"services.{service}", *args]

    def log_file(self, service: str) -> Path:
        return self.run_dir / "logs" / f"{service}.log"

    def start(self, service: str, *, detach: bool = False) -> subprocess.Popen[bytes]:
        """Start a service, or one instance of it by its name ("badge.2", see add_instance)."""
        log_file = self.log_file(service)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        # The service writes and rotates its log file itself (services/kernel/logs.py: size
        # LOG_FILE_MAX_BYTES, LOG_FILE_BACKUPS kept); until its logging is set up (an import
        # error, say) what it prints goes to the same file.
        env = self.env(service)
        env["LOG_FILE"] = str(log_file)
        if not detach:
            # An attached service stops when this process dies (services/kernel/parent.py).
            env[PARENT_PID] = str(os.getpid())
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                self.command(self.service_of(service), "serve"),
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=detach,
            )
        self.processes[service] = process
        if detach:
            (self.run_dir / "pids").mkdir(parents=True, exist_ok=True)
            (self.run_dir / "pids" / f"{service}.pid").write_text(str(process.pid))
        return process

    def wait_healthy(
        self, service: str, timeout: float = 60.0, path: str = "/health/ready"
    ) -> dict[str, object]:
        """Until the service answers `path` (its readiness, by default) with 200."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            process = self.processes.get(service)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{service} exited with {process.returncode}; see its log")
            try:
                # As long as the readiness may take to answer (its checks and the consumer's
                # offsets are bounded at 3 s each): a shorter wait, on a loaded machine where
                # Kafka's metadata takes a second or two, never saw an answer at all.
                with urllib.request.urlopen(
                    f"{self.url(service)}{path}", timeout=READINESS_ANSWER_SECONDS
                ) as answer:
                    body: dict[str, object] = json.loads(answer.read())
                    return body
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                last_error = str(error)
            time.sleep(0.2)
        raise TimeoutError(f"{service} not healthy after {timeout}s: {last_error}")

    def start_all(self, *, detach: bool = False) -> None:
        """Start the services (and the console) and wait until each is ready (PLATFORM_START_SECONDS
        each, default 60: more on a machine shared by many); one that is not stops them all,
        so nothing is left running behind a failed start."""
        for service in SERVICES:
            self.start(service, detach=detach)
        seconds = float(os.environ.get("PLATFORM_START_SECONDS", "60"))
        try:
            for service in SERVICES:
                self.wait_healthy(service, seconds)
            # A platform given ports for the services alone runs without the console.
            for name in FRONTENDS:
                if name in self.ports:
                    self.start(name, detach=detach)
                    self.wait_healthy(name, seconds)
        except BaseException:
            self.stop_all()
            raise

    def stop(self, service: str, timeout: float = 15.0) -> None:
        process = self.processes.pop(service, None)
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for service in list(self.processes):
            self.stop(service)

    def run(self, service: str, *args: str, timeout: float = 300.0) -> str:
        """Run one of a service's commands (rebuild, checksum, bootstrap); its last line."""
        return self.run_lines(service, *args, timeout=timeout)[-1]

    def run_lines(self, service: str, *args: str, timeout: float = 300.0) -> list[str]:
        done = subprocess.run(
            self.command(service, *args),
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            command = f"{service} {' '.join(args)}"
            raise RuntimeError(
                f"{command} failed ({done.returncode}): {done.stderr.decode()[-3000:]}"
            )
        return done.stdout.decode().strip().splitlines()

    def bootstrap(self, organisation: str, organiser_email: str) -> dict[str, str]:
        slug = "".join(c for c in organisation.lower() if c.isalnum()) or "organisation"
        answer: dict[str, str] = json.loads(
            self.run(
                "activity",
                "bootstrap",
                "--organisation",
                organisation,
                "--url",
                f"https://{slug}.example.org",
                "--email",
                f"badges@{slug}.example.org",
                "--organiser-name",
                organiser_email.split("@")[0],
                "--organiser-email",
                organiser_email,
            )
        )
        return answer


# -- the `up` / `down` commands of the local runner --------------------------------------------


DEMO_ORGANISER_EMAIL = "organiser@demo.example.org"


def console_sign_in_link(platform: LocalPlatform, email: str, mailbox: Path) -> str:
    """A one-time console sign-in link for `email`, as an organiser gets it: asked of the
    activity service, mailed by the notifier, read here from the local mailbox's folder."""
    since = time.time()
    request = urllib.request.Request(
        f"{platform.url('activity')}/v1/sign-in",
        data=json.dumps({"email": email}).encode(),
        headers={"content-type": "application/json", "accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except urllib.error.HTTPError as error:
        return f"(none now: the activity service answered {error.code}; ask on the sign-in page)"
    except (urllib.error.URLError, TimeoutError) as error:
        return f"(none now: {error}; ask on the sign-in page)"
    deadline = time.monotonic() + 30
    console = platform.url("console")
    while time.monotonic() < deadline:
        for side in sorted(mailbox.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
            if side.stat().st_mtime < since - 1:
                break
            message = side.with_suffix(".eml")
            try:
                recipients = [r.lower() for r in json.loads(side.read_text())["rcpt_tos"]]
                parsed = email_parser.BytesParser(policy=email_policy.default).parse(
                    message.open("rb")
                )
                text = "".join(
                    str(part.get_content())
                    for part in parsed.walk()
                    if part.get_content_type() == "text/plain"
                )
            except (OSError, ValueError, KeyError):
                continue
            found = re.search(re.escape(console) + r"/sign-in/[A-Za-z0-9_-]+", text)
            if email.lower() in recipients and found:
                return found.group(0)
        time.sleep(0.2)
    return f"(the email did not arrive in {mailbox}; ask on the sign-in page)"


def _stop_detached(run_dir: Path) -> list[str]:
    stopped = []
    # The console first: it stands on the others; then each service's extra instances.
    extra = sorted(p.stem for p in (run_dir / "pids").glob("*.*.pid"))
    for service in [*reversed(PROCESSES), *extra]:
        pid_file = run_dir / "pids" / f"{service}.pid"
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        pid_file.unlink()
        stopped.append(service)
    return stopped


def _configured_ports() -> dict[str, int]:
    """Each service's port: its <SERVICE>_HTTP_PORT, else the default (8001-8005)."""
    ports = {}
    for service in CATALOGUE:
        value = os.environ.get(service.http_port_setting, "")
        ports[service.name] = int(value) if value.isdigit() else service.default_http_port
    for name, default in FRONTENDS.items():
        value = os.environ.get(f"{name.upper()}_HTTP_PORT", "")
        ports[name] = int(value) if value.isdigit() else default
    return ports


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def parse_scale(text: str) -> dict[str, int]:
    """ "badge=3,notifier=2" -> {"badge": 3, "notifier": 2}; every other service runs once."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        service, _, count = part.partition("=")
        if service not in SERVICES or not count.isdigit() or int(count) < 1:
            raise ValueError(
                f"--scale {part!r}: say SERVICE=N with N at least 1, SERVICE one of "
                f"{', '.join(SERVICES)}"
            )
        counts[service] = int(count)
    return counts


def instance_ports(ports: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    """The ports of the extra instances: the service's port + 100, + 200, ..."""
    extra = {}
    for service, count in counts.items():
        for number in range(2, count + 1):
            extra[f"{service}.{number}"] = ports[service] + 100 * (number - 1)
    return extra


def up(run_dir: Path, scale: dict[str, int] | None = None) -> int:
    _stop_detached(run_dir)
    ports = _configured_ports()
    ports.update(instance_ports(ports, scale or {}))
    # Something else answering on a port would pass for the service's health check.
    taken = [f"{s} {p}" for s, p in ports.items() if _port_taken(p)]
    if taken:
        print(
            f"up: port in use by another process on 127.0.0.1: {', '.join(taken)}. Stop it, or "
            "choose other ports with "
            f"{', '.join([s.http_port_setting for s in CATALOGUE] + ['CONSOLE_HTTP_PORT'])}.",
            file=sys.stderr,
        )
        return 1
    secret_file = run_dir / "claim-token-secret"
    if not secret_file.exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    platform = LocalPlatform(
        run_dir=run_dir, ports=ports, claim_token_secret=secret_file.read_text().strip()
    )
    demo_file = run_dir / "demo-organiser.json"
    # The services (and their extra instances) first; the console, which stands on them, after.
    backends = [name for name in ports if LocalPlatform.service_of(name) not in FRONTENDS]
    for service in backends:
        platform.start(service, detach=True)
    step = "starting the services"
    try:
        for service in backends:
            step = f"starting {service}"
            platform.wait_healthy(service)
        for service in FRONTENDS:
            step = f"starting {service}"
            platform.start(service, detach=True)
            platform.wait_healthy(service)
        if not demo_file.exists():
            step = "creating the demo organiser"
            organiser = platform.bootstrap("Demo Youth Centre", DEMO_ORGANISER_EMAIL)
            demo_file.write_text(json.dumps(organiser))
            demo_file.chmod(0o600)
    except (RuntimeError, TimeoutError) as error:
        # Nothing half-started stays behind: stop every service this start launched.
        print(f"up: {step} failed: {error}", file=sys.stderr)
        if step.startswith("starting "):
            log = platform.log_file(service)
            print(f"--- the end of {log} ---\n{_log_tail(log)}\n---", file=sys.stderr)
        stopped = _stop_detached(run_dir)
        print(f"up: stopped the services it started: {', '.join(stopped)}", file=sys.stderr)
        return 1
    demo = json.loads(demo_file.read_text())
    mailbox = os.environ.get("MAILBOX_URL", "http://127.0.0.1:8025")
    mailbox_dir = Path(os.environ.get("MAILBOX_DIR", run_dir / "mailbox"))
    sign_in = console_sign_in_link(platform, DEMO_ORGANISER_EMAIL, mailbox_dir)
    print(
        f"""
The platform is running.

  Activity API      {platform.url("activity")}/v1    (OpenAPI: {platform.url("activity")}/docs)
  Badge API         {platform.url("badge")}/v1    (OpenAPI: {platform.url("badge")}/docs)
  Open Badges docs  {platform.url("badge")}/ob/...
  Evidence quests   {platform.url("evidence")}/quests/...  (OpenAPI: .../docs)
  Notifier service  {platform.url("notifier")}/health
  Organiser console {platform.url("console")}
  Mailbox           {mailbox}   (messages also in {mailbox_dir})
  Logs              {run_dir / "logs"}
{_instances_note(platform)}
  Demo organiser API key (also in {demo_file}):
    {demo["api_key"]}

  Sign the demo organiser ({DEMO_ORGANISER_EMAIL}) in to the console, once, within 15
  minutes (afterwards: {platform.url("console")}/sign-in, the link comes by email):
    {sign_in}

  Walk the flow:    uv run python -m services.demo
  Stop everything:  bash deploy/local/down.sh
"""
    )
    return 0


def _instances_note(platform: LocalPlatform) -> str:
    extra = [name for name in platform.ports if "." in name]
    if not extra:
        return ""
    listed = ", ".join(f"{name} {platform.url(name)}" for name in extra)
    return f"  More instances    {listed}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("up", "down"))
    parser.add_argument(
        "--run-dir", type=Path, default=Path(os.environ.get("RUN_DIR", REPO / ".run"))
    )
    parser.add_argument(
        "--scale",
        default=os.environ.get("SCALE", ""),
        help="instances per service, e.g. badge=3,notifier=2 (SCALE; default one of each)",
    )
    args = parser.parse_args(argv)
    if args.command == "up":
        try:
            scale = parse_scale(args.scale)
        except ValueError as error:
            print(f"up: {error}", file=sys.stderr)
            return 2
        return up(args.run_dir, scale)
    print("stopped:", ", ".join(_stop_detached(args.run_dir)) or "nothing was running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
