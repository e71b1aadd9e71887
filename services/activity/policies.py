"""What the activity service decides on its own events: which organisers a sign-in ask
reaches. The ask is appended by the request as a bare fact; deciding here, off the request
path, keeps the answer and its time the same for any address."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from contracts import Envelope, derived_envelope
from contracts.activity import OrganiserSignInAsked
from services.activity.adapters.read_models import PostgresState
from services.activity.domain.sign_in import decide_sign_in_links, evolve_sign_in_ask
from services.activity.state import StateOf
from services.kernel.unit_of_work import UnitOfWork

ACTOR = "service:activity"


def _now() -> datetime:
    return datetime.now(UTC)


class SignInPolicies:
    def __init__(
        self, state: StateOf = PostgresState.of, clock: Callable[[], datetime] = _now
    ) -> None:
        self._state = state
        self._clock = clock

    async def link_sign_in_ask(
        self, uow: UnitOfWork, envelope: Envelope[OrganiserSignInAsked]
    ) -> None:
        """A one-time link for each organiser with the asked address, on their stream.

        Decided from the organisers as they were when it was asked: an ask that reached nobody
        leaves nothing in the log that answers it, so a rebuild decides it again, with every
        organiser added since already replayed (their streams are on other partitions)."""
        ask = evolve_sign_in_ask(None, envelope)
        organisers = await self._state(uow).organisers_with_email(ask.email, ask.asked_at)
        for requested in decide_sign_in_links(ask, organisers, now=self._clock()):
            version = await uow.lock_stream(requested.organiser_id)
            await uow.emit(
                derived_envelope(
                    requested,
                    envelope,
                    event_id=requested.request_id,
                    stream_id=requested.organiser_id,
                    stream_version=version + 1,
                    actor=ACTOR,
                )
            )
