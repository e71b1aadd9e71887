"""The envelope every event travels in, and the registry that maps event types to payload models."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Namespace for deterministic ids: uuid5(NAMESPACE, ...) is the same on every machine and replay.
NAMESPACE = uuid.UUID("6f1c5c2e-0b7a-4f55-9a43-0d7f1f3b2a10")


class Event(BaseModel):
    """Base of every event payload: frozen, strict about unknown fields, named in the past tense."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Bumped when the payload changes shape; old versions are upcast on read.
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = ""


E = TypeVar("E", bound=Event)


class Envelope(BaseModel, Generic[E]):
    """Metadata shared by all events. `stream_id` is the aggregate id and the Kafka key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(description="Unique id; consumers deduplicate on it.")
    event_type: str = Field(description="Name of the payload model, e.g. ActivityPublished.")
    schema_version: int = Field(ge=1, description="Version of the payload's shape.")
    stream_id: uuid.UUID = Field(description="Aggregate id; also the Kafka message key.")
    stream_version: int = Field(ge=1, description="Per-aggregate sequence number, from 1.")
    occurred_at: datetime = Field(description="When the fact happened (UTC).")
    causation_id: uuid.UUID | None = Field(
        default=None, description="The event that caused this one, if any."
    )
    correlation_id: uuid.UUID | None = Field(
        default=None, description="Shared by all events of one user-visible flow."
    )
    actor: str = Field(
        max_length=200, description="Who caused it: 'organiser:<id>', 'service:badge', ..."
    )
    payload: E


class UnknownEventType(ValueError):
    """Raised when a message names an event type no contract defines."""


_REGISTRY: dict[str, type[Event]] = {}


def register(*models: type[Event]) -> None:
    for model in models:
        _REGISTRY[model.__name__] = model


def registry() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


def derived_id(cause: uuid.UUID, kind: str) -> uuid.UUID:
    """The id of an event derived from `cause`: reprocessing the cause re-derives the same id."""
    return uuid.uuid5(NAMESPACE, f"{cause}:{kind}")


def new_envelope(
    payload: E,
    *,
    stream_id: uuid.UUID,
    stream_version: int,
    actor: str,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    causation_id: uuid.UUID | None = None,
    correlation_id: uuid.UUID | None = None,
) -> Envelope[E]:
    model: Any = Envelope[type(payload)]  # type: ignore[misc]
    envelope: Envelope[E] = model(
        event_id=event_id or uuid.uuid4(),
        event_type=type(payload).__name__,
        schema_version=type(payload).schema_version,
        stream_id=stream_id,
        stream_version=stream_version,
        occurred_at=occurred_at or datetime.now(UTC),
        causation_id=causation_id,
        correlation_id=correlation_id,
        actor=actor,
        payload=payload,
    )
    return envelope


def derived_envelope(
    payload: E,
    cause: Envelope[Any],
    *,
    event_id: uuid.UUID,
    stream_id: uuid.UUID,
    stream_version: int,
    actor: str,
) -> Envelope[E]:
    """An event decided on `cause`: its id is deterministic and its time is the cause's, so a
    decision made again (after a crash, on a replay) is the same event, byte for byte."""
    return new_envelope(
        payload,
        event_id=event_id,
        stream_id=stream_id,
        stream_version=stream_version,
        occurred_at=cause.occurred_at,
        causation_id=cause.event_id,
        correlation_id=cause.correlation_id or cause.event_id,
        actor=actor,
    )


def encode(envelope: Envelope[Any]) -> bytes:
    return envelope.model_dump_json().encode()


def decode(raw: bytes) -> Envelope[Event]:
    """Parse a Kafka message value into a typed envelope.

    Raises ValueError (UnknownEventType or pydantic's ValidationError) for anything that is
    not a valid event, so the consumer can send it to the dead-letter topic.
    """
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError("an event must be a JSON object")
    event_type = document.get("event_type")
    model = _REGISTRY.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    version = document.get("schema_version")
    if version != model.schema_version:
        raise ValueError(f"{event_type} schema_version {version!r} is not {model.schema_version}")
    try:
        return Envelope[model].model_validate(document)  # type: ignore[valid-type]
    except ValidationError as error:
        raise ValueError(f"invalid {event_type}: {error}") from error
