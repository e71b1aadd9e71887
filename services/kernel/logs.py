"""The services' logging: one JSON object per line (LOG_FORMAT=text keeps the human format for a
terminal), each carrying the ids of what it is about; repeated warnings and errors are
rate-limited, and the log file (when LOG_FILE names one, as the local runner does) rotates by
size.

What a line is about is set by who does the work: the consumer's unit of work while it applies
an event (`about_event`: its event id, type and correlation id), the HTTP layer for each request
(`about_request`: the request's correlation id). Context variables carry them, so every line
written meanwhile, in any module, has them.

During a Kafka outage the client and the consumer log the same few lines over and over (about a
hundred a second per service), which buries everything else and fills the disk. A repeated line
gets through the first time; its repeats in the next LOG_REPEAT_SECONDS are counted instead of
written, and then one line carries the count: "... (repeated 523 times in the last 30 s)". A
different line (the state changed: another error, or recovery) gets through at once; a burst
that ends is summed up once it has been quiet for that long.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Object addresses ("<Task at 0x7f...>") differ between otherwise equal lines.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_MAX_TRACKED = 1_000


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    log_file: Path | None = Field(default=None, validation_alias="LOG_FILE")
    log_file_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=64 * 1024, validation_alias="LOG_FILE_MAX_BYTES"
    )
    log_file_backups: int = Field(default=3, ge=1, le=50, validation_alias="LOG_FILE_BACKUPS")
    log_repeat_seconds: float = Field(default=30.0, gt=0, validation_alias="LOG_REPEAT_SECONDS")
    log_format: Literal["json", "text"] = Field(default="json", validation_alias="LOG_FORMAT")


# What the line being written is about (None: nothing in particular). The ids are kept as
# given and made text only when a line is written: a replay sets them for every event, the
# event's three in one variable, set and reset once.
_EVENT: contextvars.ContextVar[tuple[object, str, object | None] | None] = contextvars.ContextVar(
    "event", default=None
)
_CORRELATION_ID: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "correlation_id", default=None
)


class about_event:  # a function to its callers: `with about_event(...)`
    """Lines written inside are about this event (an event a handler derives from it nests);
    its correlation id stands for that of the request it is applied in."""

    __slots__ = ("_about", "_token")

    def __init__(self, event_id: object, event_type: str, correlation_id: object | None) -> None:
        self._about = (event_id, event_type, correlation_id)

    def __enter__(self) -> None:
        self._token = _EVENT.set(self._about)

    def __exit__(self, *_: object) -> None:
        _EVENT.reset(self._token)


@contextlib.contextmanager
def about_request(correlation_id: str) -> Iterator[None]:
    """Lines written while a request is answered carry its correlation id."""
    token = _CORRELATION_ID.set(correlation_id)
    try:
        yield
    finally:
        _CORRELATION_ID.reset(token)


def context() -> dict[str, str]:
    """The ids of what is being done now, as a log line carries them."""
    event = _EVENT.get()
    if event is None:
        found = {"correlation_id": _CORRELATION_ID.get()}
    else:
        event_id, event_type, correlation_id = event
        found = {"event_id": event_id, "event_type": event_type, "correlation_id": correlation_id}
    return {name: str(value) for name, value in found.items() if value is not None}


class JsonLines(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the ids of what
    the line is about, and the traceback of an exception as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(record.__dict__.get("about") or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class WhatItIsAbout(logging.Filter):
    """Takes the ids from the context where the line is written (a handler formats it there
    too, but a line held back and summed up later is formatted elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "about" not in record.__dict__:
            record.__dict__["about"] = context()
        return True


@dataclass
class _Burst:
    since: float  # when the line last got through
    last: float  # when it last came
    held: int = 0  # repeats since then, not written


class RepeatedLineFilter(logging.Filter):
    """Lets a repeated warning or error through once per `window` seconds, with the count of
    the repeats it held back. `emit` writes the closing count of a burst that ended (normally
    the handler's own `handle`); `clock` is monotonic seconds (a test's clock in tests)."""

    def __init__(
        self,
        window: float,
        emit: Callable[[logging.LogRecord], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.window = window
        self._emit = emit
        self._clock = clock
        self._bursts: dict[tuple[str, int, str], _Burst] = {}
        self._last_sweep = clock()
        # Records come from several threads (the event loop, uvicorn's, the Kafka client's).
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.__dict__.get("repeat_summary"):
            return True  # a closing count written by sweep()
        now = self._clock()
        if now - self._last_sweep >= 1:
            self.sweep(now)
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, _ADDRESS.sub("0x…", record.getMessage()))
        with self._lock:
            burst = self._bursts.get(key)
            if burst is None:
                if len(self._bursts) >= _MAX_TRACKED:
                    self._bursts.pop(next(iter(self._bursts)))
                self._bursts[key] = _Burst(since=now, last=now)
                return True
            burst.last = now
            if now - burst.since < self.window:
                burst.held += 1
                return False
            if burst.held:
                _add_count(record, burst.held, now - burst.since)
            burst.since, burst.held = now, 0
            return True

    def sweep(self, now: float | None = None) -> None:
        """Write the count of each burst that has been quiet for a window, and forget it (so
        that the line, when it comes again, is a change of state and gets through)."""
        now = self._clock() if now is None else now
        summaries = []
        with self._lock:
            self._last_sweep = now
            for key, burst in list(self._bursts.items()):
                if now - burst.last < self.window:
                    continue
                del self._bursts[key]
                if burst.held:
                    name, level, message = key
                    summary = logging.LogRecord(name, level, __file__, 0, message, None, None)
                    _add_count(summary, burst.held, burst.last - burst.since)
                    summary.__dict__["repeat_summary"] = True
                    summaries.append(summary)
        for summary in summaries:  # outside the lock: writing it comes back through filter()
            self._emit(summary)

    def flush(self) -> None:
        """At exit: the counts of every burst still open."""
        self.sweep(self._clock() + self.window)


def _add_count(record: logging.LogRecord, held: int, seconds: float) -> None:
    times = "once" if held == 1 else f"{held} times"
    record.msg = f"{record.getMessage()} (repeated {times} in the last {max(1, round(seconds))} s)"
    record.args = None


class _RotatingLog(RotatingFileHandler):
    """The log file, rotated by size. The process's stdout and stderr are pointed at the current
    file too, so what is printed outside logging (a crash's traceback) lands in it and rotates
    with it instead of growing an old file nobody reads."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._follow()

    def doRollover(self) -> None:
        super().doRollover()
        self._follow()

    def _follow(self) -> None:
        if self.stream is not None:
            for stream in (1, 2):
                os.dup2(self.stream.fileno(), stream)


def install(settings: LogSettings | None = None) -> None:
    """After logging.basicConfig: the rotating file (if configured) and the repeat filter."""
    settings = settings or LogSettings()
    root = logging.getLogger()
    if settings.log_file is not None:
        formatter = root.handlers[0].formatter if root.handlers else None
        for handler in list(root.handlers):
            root.removeHandler(handler)
        rotating = _RotatingLog(
            settings.log_file, settings.log_file_max_bytes, settings.log_file_backups
        )
        rotating.setFormatter(formatter)
        root.addHandler(rotating)
    for handler in root.handlers:
        if settings.log_format == "json":
            handler.setFormatter(JsonLines())
        handler.addFilter(WhatItIsAbout())
        repeats = RepeatedLineFilter(settings.log_repeat_seconds, handler.handle)
        handler.addFilter(repeats)
        atexit.register(repeats.flush)
