"""What the activity service's routers share: request bodies read one way (limits taken from
the contracts, so a body the API accepts is an event the log accepts), and the runtime as a
dependency."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

import annotated_types
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, model_validator

from contracts import Event
from services.kernel.runtime import ServiceRuntime


class LimitsOf(annotated_types.GroupedMetadata):
    """A contract field's constraints (lengths, patterns), without its description: the event
    is what the request becomes, so its limits are stated once, in `contracts/`."""

    def __init__(self, event: type[Event], field: str) -> None:
        self._metadata = tuple(event.model_fields[field].metadata)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._metadata)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Changes(Body):
    """A PATCH body, read the one way every PATCH of the platform reads it: a field left out
    stays as it is; `null` is accepted only where it is a value of the field (the badge's
    `expires_after_days: null`, never expires; the fields named in `nullable`); elsewhere it
    is refused with 422 naming the field: send "" or [] to empty one. The schema shows only
    the `nullable` fields as nullable (`SkipJsonSchema` on the others)."""

    # Fields where null is a value (no date, no place): sent as null, they are emptied.
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls(self) -> Changes:
        nulls = sorted(f for f in self.model_fields_set - self.nullable if getattr(self, f) is None)
        if nulls:
            raise ValueError(
                f"{', '.join(nulls)} cannot be null: leave a field out to keep it as it is, "
                'or send "" (or [] for a list) to empty it'
            )
        return self


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


# The service's runtime: its read pool for queries, `execute` for commands.
Runtime = Annotated[ServiceRuntime, Depends(_runtime)]
