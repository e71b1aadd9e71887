"""How far a replay is: events a second, the position of every partition, and an ETA, written
as one line at a time (to the terminal while a rebuild runs)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from aiokafka import TopicPartition


class ReplayProgress:
    """Told where each partition starts, ends and has reached; says so every `every` seconds
    (and once at the end) through `write`, a line each time."""

    def __init__(
        self,
        label: str,
        write: Callable[[str], None] | None = None,
        every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self._write = write or _to_stderr(sys.stderr)
        self._every = every
        self._clock = clock
        self._start: dict[TopicPartition, int] = {}
        self._end: dict[TopicPartition, int] = {}
        self._at: dict[TopicPartition, int] = {}
        self.records = 0
        self._began = 0.0
        self._said = 0.0

    def begin(self, start: dict[TopicPartition, int], end: dict[TopicPartition, int]) -> None:
        self._start, self._end = dict(start), dict(end)
        self._at = dict(start)
        self.records = 0
        self._began = self._said = self._clock()

    def reached(self, partition: TopicPartition, next_offset: int, records: int) -> None:
        self._at[partition] = next_offset
        self.records += records
        now = self._clock()
        if now - self._said >= self._every:
            self._said = now
            self._write(self.line(now))

    def done(self) -> None:
        self._write(self.line(self._clock(), final=True))

    @property
    def total(self) -> int:
        return sum(max(0, self._end[tp] - self._start[tp]) for tp in self._end)

    @property
    def left(self) -> int:
        return sum(max(0, self._end[tp] - self._at.get(tp, 0)) for tp in self._end)

    def line(self, now: float, final: bool = False) -> str:
        seconds = max(now - self._began, 1e-9)
        rate = self.records / seconds
        done = self.total - self.left
        if final:
            head = f"{self.label}: {done:,} records in {seconds:.1f} s ({rate:,.0f}/s)"
        else:
            eta = f"{self.left / rate:.0f} s" if rate > 0 else "unknown"
            head = f"{self.label}: {done:,}/{self.total:,} records, {rate:,.0f}/s, ETA {eta}"
        return f"{head}; " + " ".join(
            f"{tp.topic}[{tp.partition}] {self._at.get(tp, 0):,}/{self._end[tp]:,}"
            for tp in sorted(self._end, key=lambda tp: (tp.topic, tp.partition))
        )


def _to_stderr(stream: TextIO) -> Callable[[str], None]:
    def write(line: str) -> None:
        print(line, file=stream, flush=True)

    return write
