"""Offers' messages rendered ahead (issue 13 item 3): what an email needs is read in the unit
of work, its rendering goes on by itself while the unit decides the next emails, and the
emails are still committed in order, each recorded with its rendered subject; a rendering
that fails fails the unit, and nothing after it is committed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import pytest

from contracts.badge import BadgeOffered
from contracts.notifier import TOPIC, EmailSent
from services.kernel.in_memory import InMemoryUnitOfWork
from services.kernel.store import Connection
from services.notifier.adapters.in_memory import InMemoryMailState
from services.notifier.delivery import Composed, Courier
from services.notifier.domain.state import MailSource
from services.notifier.handlers import build_handlers
from services.notifier.policies import MailPolicies
from services.notifier.rendering import Renderer
from tests.support_notifier import POLICY, FakeMailer, offered


class Ahead:
    """A composer whose renderings wait until released; it says in which order it all went."""

    def __init__(self, steps: list[str], failing: str | None = None) -> None:
        self.steps = steps
        self.released = asyncio.Event()
        self.failing = failing

    async def __call__(self, conn: Connection, source: MailSource) -> list[Composed]:
        event = source.payload
        assert isinstance(event, BadgeOffered)
        recipient = event.recipient_email

        async def read() -> Callable[[], Awaitable[EmailMessage]]:
            self.steps.append(f"read {recipient}")

            async def rendering() -> EmailMessage:
                await self.released.wait()
                self.steps.append(f"rendered {recipient}")
                if recipient == self.failing:
                    raise RuntimeError("cannot render")
                message = EmailMessage()
                message["To"], message["Subject"] = recipient, f"offer for {recipient}"
                return message

            return rendering

        async def render() -> EmailMessage:
            return await (await read())()

        return [Composed("offer", recipient, render, event.offer_id, read)]


def unit(compose: Ahead, mailer: FakeMailer, recorded: list[str]) -> InMemoryUnitOfWork:
    state = InMemoryMailState()
    policies = MailPolicies(compose, Courier(mailer, POLICY, connections=4), lambda uow: state)

    async def record(uow: Any, envelope: Any) -> None:
        recorded.append(envelope.payload.subject)

    handlers = build_handlers(policies, projections=state.projections()).project(EmailSent, record)
    return InMemoryUnitOfWork(handlers, own_topic=TOPIC)


async def test_the_unit_decides_on_while_messages_render_and_commits_them_in_order() -> None:
    steps: list[str] = []
    recorded: list[str] = []
    compose, mailer = Ahead(steps), FakeMailer()
    uow = unit(compose, mailer, recorded)
    for n in range(3):
        # (A courier that waited for each rendering would never get past the first.)
        await asyncio.wait_for(uow.receive(offered(f"l{n}@example.org")), 2)
    # Every email decided and read while no message is rendered yet.
    assert steps == ["read l0@example.org", "read l1@example.org", "read l2@example.org"]
    assert mailer.sent == []
    compose.released.set()
    await uow.flush()
    assert mailer.recipients() == ["l0@example.org", "l1@example.org", "l2@example.org"]
    assert recorded == [f"offer for l{n}@example.org" for n in range(3)]


async def test_a_rendering_that_fails_fails_the_unit_and_commits_nothing_after_it() -> None:
    steps: list[str] = []
    recorded: list[str] = []
    compose, mailer = Ahead(steps, failing="l1@example.org"), FakeMailer()
    uow = unit(compose, mailer, recorded)
    for n in range(3):
        await uow.receive(offered(f"l{n}@example.org"))
    compose.released.set()
    with pytest.raises(RuntimeError, match="cannot render"):
        await uow.flush()
    assert mailer.recipients() == ["l0@example.org"]
    assert recorded == ["offer for l0@example.org"]


def _subject(text: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = text
    return message


async def test_with_no_worker_processes_the_message_is_rendered_on_the_loop() -> None:
    message = await Renderer(0)(_subject, "hello")
    assert message["Subject"] == "hello"
