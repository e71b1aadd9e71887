"""Repeated log lines are rate-limited (one line per change of state, then a count every window)
and the log file rotates by size (issue 14, item 6)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.kernel.logs import LogSettings, RepeatedLineFilter, install


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


# 5,000 lines at 64 KiB before; a sixteenth of both rotates as often.
ROTATE_AT = 4 * 1024
LINES = 5_000 * ROTATE_AT // (64 * 1024)


def test_an_operator_cannot_rotate_below_64_kib():
    with pytest.raises(ValidationError, match="LOG_FILE_MAX_BYTES"):
        LogSettings(LOG_FILE_MAX_BYTES=64 * 1024 - 1)
    assert LogSettings(LOG_FILE_MAX_BYTES=64 * 1024).log_file_max_bytes == 64 * 1024


def test_the_log_file_rotates_and_stdout_follows_it(tmp_path: Path, capfd):
    """The log file takes over the process's stdout and stderr (file descriptors 1 and 2), in
    this process: they are put back afterwards, as are the root logger's handlers."""
    log_file = tmp_path / "logs" / "badge.log"
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_stdout, saved_stderr = os.dup(1), os.dup(2)
    try:
        for handler in saved_handlers:
            root.removeHandler(handler)
        # What logging.basicConfig(level=INFO, format=...) sets up in a service.
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        root.addHandler(console)
        root.setLevel(logging.INFO)
        # The rotation at a size below the operators' floor (64 KiB, refused in LOG_FILE_MAX_BYTES;
        # see the test below): the same rotations as 5,000 lines at 64 KiB, in a sixteenth of
        # the lines.
        install(
            LogSettings.model_construct(
                log_file=log_file, log_file_max_bytes=ROTATE_AT, log_file_backups=2
            )
        )
        # Many rotations, of which two backups are kept.
        for n in range(LINES):
            logging.getLogger("load").info("line %d %s", n, "x" * 40)
        # What a process prints outside logging, and the last words of one that dies.
        with open(1, "w", closefd=False) as stdout, open(2, "w", closefd=False) as stderr:
            print("printed after the rotations", file=stdout, flush=True)
            print("the last words", file=stderr, flush=True)
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        os.dup2(saved_stdout, 1)
        os.dup2(saved_stderr, 2)
        os.close(saved_stdout)
        os.close(saved_stderr)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # everything went to the file
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files == ["badge.log", "badge.log.1", "badge.log.2"]
    for name in files:
        assert (log_file.parent / name).stat().st_size <= ROTATE_AT + 200
    current = log_file.read_text()
    assert f"line {LINES - 1} " in current
    assert "printed after the rotations" in current
    assert "the last words" in current
