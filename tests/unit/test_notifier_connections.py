"""The notifier over several SMTP connections (issue 13 item 3): messages are prepared side by
side, but accepted one at a time (or, when the operator allows more duplicates per crash, a
few at a time), each group recorded before the next is committed; a unit of work that fails
sends nothing it had not committed."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from contracts.notifier import TOPIC, EmailSent
from services.kernel.in_memory import InMemoryUnitOfWork
from services.kernel.metrics import METRICS
from services.notifier.adapters.in_memory import InMemoryMailState
from services.notifier.delivery import Courier
from services.notifier.handlers import build_handlers
from services.notifier.policies import MailPolicies
from tests.support_notifier import POLICY, FakeMailer, fake_compose, offered


def sample(name: str, **labels: str) -> float:
    return METRICS.registry.get_sample_value(name, labels) or 0.0


class Parallel(FakeMailer):
    """A mailer that prepares messages side by side and says in which order it all went."""

    def __init__(self, steps: list[str]) -> None:
        super().__init__()
        self.steps = steps

    async def prepare(self, message: Any) -> Any:
        self.steps.append(f"prepare {message['To']}")
        mailer = self

        class Prepared:
            async def commit(self) -> Any:
                mailer.steps.append(f"commit {message['To']}")
                return await mailer.deliver(message)

            def abort(self) -> None:
                mailer.steps.append(f"abort {message['To']}")

        return Prepared()


async def test_several_connections_commit_one_message_at_a_time_each_recorded_first() -> None:
    steps: list[str] = []
    mailer = Parallel(steps)
    courier = Courier(mailer, POLICY, connections=3)
    state = InMemoryMailState()
    policies = MailPolicies(fake_compose, courier, lambda uow: state)

    async def recorded(uow: Any, envelope: Any) -> None:
        steps.append(f"record {envelope.payload.recipient}")

    handlers = build_handlers(policies, projections=state.projections()).project(
        EmailSent, recorded
    )
    sent_before = sample("emails_sent_total", kind="offer")
    uow = InMemoryUnitOfWork(handlers, own_topic=TOPIC)
    offers = [offered(f"learner{n}@example.org") for n in range(4)]
    for offer in offers:
        await uow.receive(offer)
    # Three on their way before the first is committed; the fourth waits for a connection.
    assert steps[:4] == [
        "prepare learner0@example.org",
        "prepare learner1@example.org",
        "prepare learner2@example.org",
        "commit learner0@example.org",
    ]
    await uow.flush()  # the unit of work commits: the last emails first
    commits = [s for s in steps if not s.startswith("prepare")]
    expected = []
    for n in range(4):
        expected += [f"commit learner{n}@example.org", f"record learner{n}@example.org"]
    assert commits == expected  # never two accepted and not yet recorded
    assert len(mailer.sent) == 4
    assert sample("emails_sent_total", kind="offer") == sent_before + 4


def unit_of_work(courier: Courier, steps: list[str]) -> InMemoryUnitOfWork:
    state = InMemoryMailState()
    policies = MailPolicies(fake_compose, courier, lambda uow: state)

    async def recorded(uow: Any, envelope: Any) -> None:
        steps.append(f"record {envelope.payload.recipient}")

    handlers = build_handlers(policies, projections=state.projections()).project(
        EmailSent, recorded
    )
    return InMemoryUnitOfWork(handlers, own_topic=TOPIC)


async def test_more_duplicates_allowed_commits_groups_each_recorded_before_the_next() -> None:
    steps: list[str] = []
    mailer = Parallel(steps)
    uow = unit_of_work(Courier(mailer, POLICY, connections=4, unrecorded=2), steps)
    for n in range(4):
        await uow.receive(offered(f"l{n}@example.org"))
    await uow.flush()
    done = [s.split()[0] + s.split()[1][1] for s in steps if not s.startswith("prepare")]
    # Two accepted side by side, both recorded, then the next two.
    first, then = ["commit0", "commit1", "record0", "record1"], ["commit2", "commit3"]
    assert done == [*first, *then, "record2", "record3"]


class Broken(Exception):
    pass


async def test_a_unit_of_work_that_fails_aborts_what_it_had_not_committed() -> None:
    steps: list[str] = []
    mailer = Parallel(steps)
    courier = Courier(mailer, POLICY, connections=3)
    uow = unit_of_work(courier, steps)
    for n in range(2):
        await uow.receive(offered(f"l{n}@example.org"))

    async def failing(uow: Any) -> None:
        raise Broken

    uow.before_flush(failing)  # runs after the courier's: the emails are committed first
    with pytest.raises(Broken):
        await uow.flush()
    assert [s for s in steps if s.startswith("commit")] == [
        "commit l0@example.org",
        "commit l1@example.org",
    ]

    steps.clear()
    second = unit_of_work(courier, steps)
    for n in range(2, 4):
        await second.receive(offered(f"l{n}@example.org"))
    await asyncio.sleep(0)  # both on their way
    assert len(steps) == 2 and all(s.startswith("prepare") for s in steps)
    del second  # failed before its flush: what it prepared is let go, never committed
    gc.collect(0)
    assert sorted(s for s in steps if not s.startswith("prepare")) == [
        "abort l2@example.org",
        "abort l3@example.org",
    ]
    assert len(mailer.sent) == 2


class Slow(Parallel):
    """A server that takes its time to accept: while it does, the unit of work goes on."""

    def __init__(self, steps: list[str]) -> None:
        super().__init__(steps)
        self.accepting = asyncio.Event()

    async def deliver(self, message: Any) -> Any:
        await self.accepting.wait()
        return await super().deliver(message)


async def test_the_unit_of_work_goes_on_rendering_while_its_emails_are_accepted() -> None:
    steps: list[str] = []
    mailer = Slow(steps)
    uow = unit_of_work(Courier(mailer, POLICY, connections=2), steps)
    for n in range(2):
        await uow.receive(offered(f"l{n}@example.org"))
    await asyncio.sleep(0.01)
    # The first is being accepted (its last line sent), the second prepared: the unit of work
    # was not held up by either.
    assert steps == ["prepare l0@example.org", "prepare l1@example.org", "commit l0@example.org"]
    mailer.accepting.set()
    await uow.flush()
    assert [s.split()[0] for s in steps[2:]] == ["commit", "record", "commit", "record"]
    assert len(mailer.sent) == 2


async def test_a_batch_tried_again_waits_for_the_email_the_failed_try_still_commits() -> None:
    steps: list[str] = []
    mailer = Slow(steps)
    courier = Courier(mailer, POLICY, connections=2)
    first = unit_of_work(courier, steps)
    offer = offered("again@example.org")
    await first.receive(offer)
    await asyncio.sleep(0.01)
    assert steps[-1] == "commit again@example.org"  # its last line is on its way
    # The first try fails (elsewhere) while it waits for the server; the batch is tried again,
    # and decides the same email.
    second = unit_of_work(courier, steps)
    trying_again = asyncio.create_task(second.receive(offer))
    await asyncio.sleep(0.01)
    assert not trying_again.done()  # it waits for the first try's email
    mailer.accepting.set()
    await trying_again
    await second.flush()
    assert len(mailer.sent) == 1  # mailed once: the second try found its record
    assert [s.split()[0] for s in steps].count("prepare") == 1
