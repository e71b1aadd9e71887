"""Events of the notifier service, on topic `notifier.events`: what was mailed, what failed,
what waits for another attempt, and what an operator asked to send again."""

from __future__ import annotations

import uuid
from datetime import datetime
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


class EmailDeferred(NotifierEvent):
    """An attempt failed in a way that may pass (no connection, a 4xx): the email waits in the
    retry schedule until `next_attempt_at`, and the other emails go on meanwhile."""

    email_id: uuid.UUID = Field(description="The id its EmailSent or EmailFailed will have.")
    cause_event_id: uuid.UUID = Field(description="What asked for the email.")
    source_event_id: uuid.UUID = Field(description="The event whose content the email carries.")
    kind: EmailKind
    recipient: str = Field(max_length=320)
    offer_id: uuid.UUID | None = None
    reason: str = Field(max_length=2_000)
    attempt: int = Field(ge=1, description="Attempts made so far.")
    failing_since: datetime = Field(
        description="The first failed attempt; retries stop after the configured period from here."
    )
    next_attempt_at: datetime


class EmailResendRequested(NotifierEvent):
    """An operator asked for a failed email to be sent again (`resend-failed`): a new email,
    tried and retried like a first one."""

    email_id: uuid.UUID = Field(description="The id of the new email's EmailSent or EmailFailed.")
    resend_of: uuid.UUID = Field(description="The failed email (its EmailFailed event id).")
    source_event_id: uuid.UUID = Field(description="The event whose content the email carries.")
    kind: EmailKind
    recipient: str = Field(max_length=320)
    offer_id: uuid.UUID | None = None
    requested_by: str = Field(max_length=200)


register(EmailSent, EmailFailed, EmailDeferred, EmailResendRequested)
