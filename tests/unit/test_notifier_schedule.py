"""The retry schedule's timing: doubling waits up to a cap, given up after the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifier.domain.schedule import RetryPolicy
from services.notifier.settings import NotifierSettings

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_waits_double_up_to_the_maximum() -> None:
    policy = RetryPolicy.of(NotifierSettings(smtp_backoff_seconds=5, smtp_backoff_max_seconds=60))
    waits = [(policy.next_attempt_at(NOW, n) - NOW).total_seconds() for n in range(1, 8)]
    assert waits == [5, 10, 20, 40, 60, 60, 60]
    assert (policy.next_attempt_at(NOW, 500) - NOW).total_seconds() == 60


def test_retried_for_a_day_by_default() -> None:
    policy = RetryPolicy.of(NotifierSettings())
    assert not policy.gives_up(NOW, NOW + timedelta(hours=23, minutes=59))
    assert policy.gives_up(NOW, NOW + timedelta(hours=24))
    assert policy.describe() == "24 h"
