"""The envelope every event travels in, and the registry that maps event types to payload models."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Namespace for deterministic ids: uuid5(NAMESPACE, ...) is the same on every machine and replay.
NAMESPACE = uuid.UUID("6f1c5c2e-0b7a-4f55-9a43-0d7f1f3b2a10")


class Event(BaseModel):
    """Base of every event payload: frozen, strict about unknown fields, named in the past tense."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Bumped when the payload changes shape; old versions are upcast on read (see `upcaster`).
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = ""


E = TypeVar("E", bound=Event)


class Envelope(BaseModel, Generic[E]):
    """Metadata shared by all events. `stream_id` is the aggregate id and the Kafka key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(description="Unique id; consumers deduplicate on it.")
    event_type: str = Field(description="Name of the payload model, e.g. ActivityPublished.")
    # Strict: a version is an integer, never `true` or `1.0` (which compare equal to 1).
    schema_version: int = Field(ge=1, strict=True, description="Version of the payload's shape.")
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
# Event type -> its envelope's JSON validation. `Envelope[model]` looks the parametrised class
# up on every use (as long as the validation itself): a replay does it once per type.
_VALIDATE_JSON: dict[str, Callable[[bytes], Any]] = {}


def register(*models: type[Event]) -> None:
    for model in models:
        _REGISTRY[model.__name__] = model
        _VALIDATE_JSON.pop(model.__name__, None)


def registry() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


# A payload of one version in, the same fact in the shape of the next version out.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UpcasterT = TypeVar("UpcasterT", bound=Upcaster)

# (event type, from version) -> the step to from version + 1. Topics keep everything, so a
# replay meets every version ever written; `decode` chains the steps up to the current one.
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(*models: type[Event], from_version: int) -> Callable[[UpcasterT], UpcasterT]:
    """Register `upcast_vN_vN+1(payload) -> payload` for each model, as one explicit step."""

    def registering(step: UpcasterT) -> UpcasterT:
        for model in models:
            if not 1 <= from_version < model.schema_version:
                raise ValueError(
                    f"{model.__name__} is at schema_version {model.schema_version}: "
                    f"no step from {from_version}"
                )
            key = (model.__name__, from_version)
            if key in _UPCASTERS:
                raise ValueError(f"{model.__name__} already has an upcaster from {from_version}")
            _UPCASTERS[key] = step
        return step

    return registering


def upcasters() -> dict[tuple[str, int], Upcaster]:
    return dict(_UPCASTERS)


def upcast(model: type[Event], version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload`, stored at `version`, in the shape of `model`'s current version."""
    event_type, current = model.__name__, model.schema_version
    if version > current:
        # Written by newer code than this: refuse rather than guess at a downgrade.
        raise ValueError(f"{event_type} schema_version {version} is not {current} (newer)")
    while version < current:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise ValueError(
                f"{event_type} schema_version {version} is not {current} "
                f"(no upcaster from {version})"
            )
        try:
            payload = step(payload)
        except (KeyError, TypeError, ValueError) as error:
            # A stored payload the step cannot read: dead-letter it, do not stop the consumer.
            raise ValueError(
                f"{event_type} schema_version {version} not upcast: {error!r}"
            ) from error
        version += 1
    return payload


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


def decode(raw: bytes, event_type: str | None = None) -> Envelope[Event]:
    """Parse a Kafka message value into a typed envelope of the current version: an older
    payload is upcast step by step before it is validated.

    `event_type` is what the record's header says it holds: an event of that type at its
    current version is then validated once, straight from the bytes (anything refused, an
    older version or another type takes the full path below: the outcome is the same).

    Raises ValueError (UnknownEventType or pydantic's ValidationError) for anything that is
    not a valid event, so the consumer can send it to the dead-letter topic.
    """
    if event_type is not None:
        found = _decode_current(raw, event_type)
        if found is not None:
            return found
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
    if type(version) is not int:  # also refuses true and 1.0, which compare equal to 1
        raise ValueError(f"{event_type} schema_version {version!r} is not a version")
    if version != model.schema_version:
        payload = document.get("payload")
        if not isinstance(payload, dict):
            raise ValueError(f"invalid {event_type}: the payload must be a JSON object")
        document["payload"] = upcast(model, version, payload)
        document["schema_version"] = model.schema_version
    try:
        return Envelope[model].model_validate(document)  # type: ignore[valid-type]
    except ValidationError as error:
        raise ValueError(f"invalid {event_type}: {error}") from error


def _validate_json(event_type: str) -> Callable[[bytes], Any] | None:
    found = _VALIDATE_JSON.get(event_type)
    if found is None:
        model = _REGISTRY.get(event_type)
        if model is None:
            return None
        envelope_model: type[BaseModel] = Envelope[model]  # type: ignore[valid-type]
        found = _VALIDATE_JSON[event_type] = envelope_model.__pydantic_validator__.validate_json
    return found


def _decode_current(raw: bytes, event_type: str) -> Envelope[Event] | None:
    """The envelope, if `raw` is a valid `event_type` at its current version; else None."""
    validate_json = _validate_json(event_type)
    if validate_json is None:
        return None
    model = _REGISTRY[event_type]
    try:
        envelope: Envelope[Event] = validate_json(raw)
    except ValidationError:
        return None
    if envelope.event_type != event_type or envelope.schema_version != model.schema_version:
        return None
    return envelope
