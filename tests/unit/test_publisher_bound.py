"""Issue 14 item 1, the publisher's part: a write waits on Kafka only within its bound, and
a slow but moving batch is not cut off."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from types import SimpleNamespace
from typing import Any

import pytest

from contracts import new_envelope
from contracts.notifier import EmailSent
from services.kernel import publisher as publisher_module
from services.kernel.publisher import EventPublisher, KafkaUnavailable
from tests.support_clock import now, run_in_virtual_time


def virtual_time(
    test: Callable[[], Coroutine[Any, Any, None]],
) -> Callable[[pytest.MonkeyPatch], None]:
    """Runs the test on virtual time: the publisher's bound and the producer's acks are timed
    exactly, and the test waits for none of them."""

    def run(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(publisher_module, "time", SimpleNamespace(monotonic=now))
        run_in_virtual_time(test())

    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return run


class _Producer:
    """Stands in for aiokafka's producer: acks after `ack_after` seconds (never if None)."""

    def __init__(self, ack_after: float | None) -> None:
        self.ack_after = ack_after
        self.sent = 0

    async def send(self, *_: Any, **__: Any) -> asyncio.Future[Any]:
        self.sent += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.ack_after is not None:
            delay = self.ack_after * self.sent  # one after the other, like a partition
            asyncio.get_running_loop().call_later(delay, future.set_result, None)
        return future


def _publisher(producer: _Producer, bound: float) -> EventPublisher:
    publisher = EventPublisher(
        "127.0.0.1:1", {"notifier.events": "notifier.events"}, write_timeout=bound
    )
    publisher._producer = producer  # type: ignore[assignment]
    return publisher


def _events(n: int) -> list[Any]:
    return [
        new_envelope(
            EmailSent(
                cause_event_id=uuid.uuid4(),
                kind="offer",
                recipient="a@example.org",
                subject="s",
                attempts=1,
            ),
            stream_id=uuid.uuid4(),
            stream_version=1,
            actor="test",
        )
        for _ in range(n)
    ]


@virtual_time
async def test_a_write_gives_up_at_its_bound_and_the_next_fails_at_once() -> None:
    publisher = _publisher(_Producer(ack_after=None), bound=0.3)
    started = now()
    with pytest.raises(KafkaUnavailable) as refused:
        await publisher.append(_events(3))
    assert 0.25 <= now() - started < 0.8
    assert refused.value.status_code == 503 and refused.value.retry_after_seconds >= 1
    assert not publisher.reachable
    started = now()
    with pytest.raises(KafkaUnavailable):
        await publisher.append(_events(1))
    assert now() - started < 0.05


@virtual_time
async def test_a_batch_that_keeps_being_acknowledged_runs_past_the_bound() -> None:
    publisher = _publisher(_Producer(ack_after=0.1), bound=0.3)
    started = now()
    await publisher.append(_events(8))  # 0.8 s in all, never 0.3 s without an ack
    assert now() - started >= 0.7
    assert publisher.reachable


@virtual_time
async def test_an_event_still_on_its_way_after_a_give_up_is_found_by_the_retry() -> None:
    """The retry of a write that gave up applies the event the producer still delivers, so the
    live state and a rebuild (which applies the first in the log) agree."""
    producer = _Producer(ack_after=None)
    publisher = _publisher(producer, bound=0.2)
    (event,) = _events(1)
    with pytest.raises(KafkaUnavailable):
        await publisher.append([event])
    found = publisher.recently_appended(event.event_id)
    assert found is not None and found[0] is event and not found[1].done()
    found[1].set_result(None)  # Kafka back: the producer delivers it
    publisher.reachable = True
    await publisher.append([], earlier=[found[1]])
    assert producer.sent == 1


@virtual_time
async def test_an_event_that_failed_for_good_is_forgotten() -> None:
    producer = _Producer(ack_after=None)
    publisher = _publisher(producer, bound=0.2)
    (event,) = _events(1)
    with pytest.raises(KafkaUnavailable):
        await publisher.append([event])
    found = publisher.recently_appended(event.event_id)
    assert found is not None
    found[1].set_exception(RuntimeError("refused by the broker"))
    await asyncio.sleep(0)
    assert publisher.recently_appended(event.event_id) is None
