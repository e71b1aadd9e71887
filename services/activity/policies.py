"""What the activity service decides on its own events: which organisers a sign-in ask
reaches. The ask is appended by the request as a bare fact; deciding here, off the request
path, keeps the answer and its time the same for any address."""

from __future__ import annotations

from contracts import Envelope, derived_envelope
from contracts.activity import OrganiserSignInAsked
from services.activity.adapters.read_models import PostgresState
from services.activity.domain.sign_in import decide_sign_in_links, evolve_sign_in_ask
from services.activity.state import StateOf
from services.kernel.unit_of_work import UnitOfWork

ACTOR = "service:activity"


class SignInPolicies:
    def __init__(self, state: StateOf = PostgresState.of) -> None:
        self._state = state

    async def link_sign_in_ask(
        self, uow: UnitOfWork, envelope: Envelope[OrganiserSignInAsked]
    ) -> None:
        """A one-time link for each organiser with the asked address, on their stream."""
        ask = evolve_sign_in_ask(None, envelope)
        organisers = await self._state(uow).organisers_with_email(ask.email)
        for requested in decide_sign_in_links(ask, organisers):
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
