"""When an email that failed in a way that may pass is tried again, and when it is given up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class RetrySettings(Protocol):
    """Where the timing comes from (the notifier's settings)."""

    @property
    def smtp_backoff_seconds(self) -> float: ...
    @property
    def smtp_backoff_max_seconds(self) -> float: ...
    @property
    def smtp_retry_period_seconds(self) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    backoff: timedelta
    backoff_max: timedelta
    period: timedelta

    @classmethod
    def of(cls, settings: RetrySettings) -> RetryPolicy:
        return cls(
            backoff=timedelta(seconds=settings.smtp_backoff_seconds),
            backoff_max=timedelta(seconds=settings.smtp_backoff_max_seconds),
            period=timedelta(seconds=settings.smtp_retry_period_seconds),
        )

    def next_attempt_at(self, now: datetime, attempts: int) -> datetime:
        """After `attempts` failed attempts: backoff, 2x, 4x ... capped at the maximum."""
        delay: timedelta = self.backoff * 2 ** min(attempts - 1, 30)
        later: datetime = now + min(delay, self.backoff_max)
        return later

    def gives_up(self, failing_since: datetime, now: datetime) -> bool:
        return now - failing_since >= self.period

    def describe(self) -> str:
        hours = self.period.total_seconds() / 3600
        return f"{hours:g} h" if hours >= 1 else f"{self.period.total_seconds():g} s"
