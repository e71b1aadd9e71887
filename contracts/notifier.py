"""Events of the notifier service, on topic `notifier.events`: what was mailed, what failed."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from contracts.envelope import Event, register

TOPIC = "notifier.events"

EmailKind = Literal["offer", "award", "review_requested", "approved", "rejected", "sign_in"]


class NotifierEvent(Event):
    topic: ClassVar[str] = TOPIC


class EmailSent(NotifierEvent):
    """The SMTP server accepted the message caused by `cause_event_id`."""

    cause_event_id: uuid.UUID
    kind: EmailKind
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=500)
    attempts: int = Field(ge=1)
    offer_id: uuid.UUID | None = None


class EmailFailed(NotifierEvent):
    """Every retry failed; the organiser sees this beside the offer."""

    cause_event_id: uuid.UUID
    kind: EmailKind
    recipient: str = Field(max_length=320)
    reason: str = Field(max_length=2_000)
    attempts: int = Field(ge=1)
    offer_id: uuid.UUID | None = None


register(EmailSent, EmailFailed)
