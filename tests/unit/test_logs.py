"""Repeated log lines are rate-limited (one line per change of state, then a count every window)
and the log file rotates by size (issue 14, item 6)."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from services.kernel.logs import RepeatedLineFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def written(clock: Clock) -> Collected:
    handler = Collected()
    handler.addFilter(RepeatedLineFilter(30, handler.handle, clock))
    return handler


def log(handler: logging.Handler, message: str, level: int = logging.ERROR, *args: object) -> None:
    handler.handle(logging.LogRecord("aiokafka", level, __file__, 1, message, args or None, None))


def test_a_repeated_error_gets_through_once_then_with_its_count(clock, written):
    log(written, "Unable connect to node with id %s", logging.ERROR, 1)
    for _ in range(523):
        clock.now += 0.05
        log(written, "Unable connect to node with id %s", logging.ERROR, 1)
    assert written.lines == ["Unable connect to node with id 1"]
    clock.now += 4
    log(written, "Unable connect to node with id %s", logging.ERROR, 1)
    assert (
        written.lines[1] == "Unable connect to node with id 1 (repeated 523 times in the last 30 s)"
    )
    clock.now += 1
    log(written, "Unable connect to node with id %s", logging.ERROR, 1)
    assert len(written.lines) == 2


def test_a_different_line_is_a_change_of_state_and_gets_through_at_once(clock, written):
    log(written, "connection refused")
    log(written, "connection refused")
    clock.now += 0.5
    log(written, "request timed out")
    log(written, "connection refused", logging.WARNING)  # another level: another line
    assert written.lines == ["connection refused", "request timed out", "connection refused"]


def test_info_lines_and_object_addresses(clock, written):
    for _ in range(3):
        log(written, "consumer assigned", logging.INFO)
    log(written, "task <Task at 0x7f00aa> failed")
    log(written, "task <Task at 0x7f00bb> failed")
    assert written.lines == ["consumer assigned"] * 3 + ["task <Task at 0x7f00aa> failed"]


def test_a_burst_that_ends_is_summed_up_and_the_next_one_starts_afresh(clock, written):
    log(written, "connection refused")
    for _ in range(40):
        clock.now += 0.25
        log(written, "connection refused")
    clock.now += 31  # quiet since: Kafka is back
    log(written, "caught up", logging.INFO)
    assert written.lines == [
        "connection refused",
        "connection refused (repeated 40 times in the last 10 s)",
        "caught up",
    ]
    log(written, "connection refused")  # a new outage: its first line at once
    assert written.lines[-1] == "connection refused"


def test_an_outage_writes_a_bounded_number_of_lines(clock, written):
    """110 lines a second of three repeated errors for two minutes, then recovery."""
    messages = ["Unable connect to node 1", "Unable to update metadata", "transient failure"]
    for tick in range(110 * 120):
        clock.now += 1 / 110
        log(written, messages[tick % 3])
    clock.now += 31
    log(written, "recovered", logging.INFO)
    # Per message: its first line, a count every 30 s (4 in 120 s) and a closing count.
    assert len(written.lines) <= 3 * 6 + 1, written.lines
    counts = [
        int(line.split("(repeated ")[1].split(" ")[0])
        for line in written.lines[:-1]
        if "(repeated" in line
    ]
    # Every error is written or counted: the lines written, less "recovered" and the three
    # closing counts (those are no occurrence), plus the counts.
    assert len(written.lines) - 1 - 3 + sum(counts) == 110 * 120


def test_the_log_file_rotates_and_stdout_follows_it(tmp_path: Path):
    """In a process of its own: the log file takes over the process's stdout and stderr."""
    program = textwrap.dedent(
        """
        import logging, sys
        from services.kernel.logs import LogSettings, install
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        install(LogSettings(LOG_FILE=sys.argv[1], LOG_FILE_MAX_BYTES=65536, LOG_FILE_BACKUPS=2))
        for n in range(20_000):
            logging.getLogger("load").info("line %d %s", n, "x" * 40)
        print("printed after the rotations", flush=True)
        raise SystemExit("the last words")
        """
    )
    log_file = tmp_path / "logs" / "badge.log"
    done = subprocess.run(
        [sys.executable, "-c", program, str(log_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == "" and done.stderr == ""  # everything went to the file
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files == ["badge.log", "badge.log.1", "badge.log.2"]
    for name in files:
        assert (log_file.parent / name).stat().st_size <= 65536 + 200
    current = log_file.read_text()
    assert "line 19999" in current
    assert "printed after the rotations" in current
    assert "the last words" in current
