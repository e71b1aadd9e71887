"""What the notifier decides on events: read the email's state through the state port, ask
the domain, then mail (each attempt recorded before the next email goes) or record a failure.

The projections of the same event have run first: its source is kept and a reviewer's first
invitation recorded before these read them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from contracts import Envelope, derived_envelope
from contracts.badge import OfferResendRequested, PeerReviewerInvited
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.composer import Compose
from services.notifier.delivery import Courier, Email
from services.notifier.domain.attempts import FIRST, decide_first_attempt
from services.notifier.domain.requests import (
    decide_mail,
    decide_offer_resend,
    offer_resend_failure_id,
)
from services.notifier.domain.state import MailSource, MailState

log = logging.getLogger(__name__)

# The state port of one unit of work (the read models in its transaction, or dicts in tests).
StateOf = Callable[[UnitOfWork], MailState]


class MailPolicies:
    def __init__(self, compose: Compose, courier: Courier, state_of: StateOf) -> None:
        self._compose = compose
        self._courier = courier
        self._state_of = state_of

    async def mail(self, uow: UnitOfWork, source: MailSource) -> None:
        """Mail each email an event asks for at once, unless it is known already."""
        state = self._state_of(uow)
        event = source.payload
        first = None
        if isinstance(event, PeerReviewerInvited):
            first = await state.first_invitation(event.badge_class_id, event.email)
        if not decide_mail(event, source.event_id, first):
            return  # invited again: one invitation is enough
        await self._mail_from(uow, state, source, source)

    async def resend_offer(self, uow: UnitOfWork, request: Envelope[OfferResendRequested]) -> None:
        """The organiser's resend: the offer's email once more, as a new email."""
        state = self._state_of(uow)
        source = await state.offer_source(request.payload.offer_id)
        known = source.event_id if source is not None else None
        for failed in decide_offer_resend(known, request.event_id, request.payload):
            log.warning("resend of offer %s, which this notifier never saw", failed.offer_id)
            record = derived_envelope(
                failed,
                request,
                event_id=offer_resend_failure_id(request.event_id),
                stream_id=request.event_id,
                stream_version=1,
                actor="service:notifier",
            )
            await uow.emit(record, wait=True)
        if source is not None:
            await self._mail_from(uow, state, source, request)

    async def _mail_from(
        self,
        uow: UnitOfWork,
        state: MailState,
        source: MailSource,
        cause: MailSource | Envelope[OfferResendRequested],
    ) -> None:
        for composed in await self._compose(uow.conn, source):
            email = Email(composed, cause.event_id, source.event_id, cause.correlation_id)
            if decide_first_attempt(await state.email(email.email_id)):
                await self._courier.attempt(uow, email, FIRST)
