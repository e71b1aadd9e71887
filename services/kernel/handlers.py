"""What a service does on each event: its projections, then its policies, registered per type.

A projection writes what an event says into read models; a policy decides on an event and
emits new events. Both are registered under the event type they take, so the payload's type is
known to the checker (`Envelope[BadgeOffered]`, no casts), and several can be registered for one
type: combining two registries adds their lists, it never replaces a handler.

On each event every projection runs first, in the order registered, then every policy: a
policy reads read models, so what the event itself says must already be there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from contracts import Envelope, Event

if TYPE_CHECKING:
    from services.kernel.unit_of_work import UnitOfWork

P = TypeVar("P", bound=Event)

# What the kernel calls; a registration keeps the payload type for the checker.
Handler = Callable[["UnitOfWork", Envelope[Any]], Awaitable[None]]


class Handlers:
    """A service's projections and policies, per event type, in the order they run."""

    def __init__(self) -> None:
        self._projections: dict[type[Event], list[Handler]] = {}
        self._policies: dict[type[Event], list[Handler]] = {}
        # What `for_event` answered, per type (a replay asks once per event); emptied when a
        # handler is registered.
        self._for_event: dict[type[Event], Sequence[Handler]] = {}

    def project(
        self,
        event_type: type[P],
        *projections: Callable[[UnitOfWork, Envelope[P]], Awaitable[None]],
    ) -> Handlers:
        """Register what writes `event_type` into read models."""
        self._for_event.clear()
        self._projections.setdefault(event_type, []).extend(projections)
        return self

    def react(
        self,
        event_type: type[P],
        *policies: Callable[[UnitOfWork, Envelope[P]], Awaitable[None]],
    ) -> Handlers:
        """Register what decides on `event_type` (and may emit events)."""
        self._for_event.clear()
        self._policies.setdefault(event_type, []).extend(policies)
        return self

    def include(self, other: Handlers) -> Handlers:
        """Add another registry's handlers after this one's (lists grow, nothing is replaced)."""
        self._for_event.clear()
        for event_type, handlers in other._projections.items():
            self._projections.setdefault(event_type, []).extend(handlers)
        for event_type, handlers in other._policies.items():
            self._policies.setdefault(event_type, []).extend(handlers)
        return self

    def for_event(self, event_type: type[Event]) -> Sequence[Handler]:
        """What runs on one event of `event_type`: projections, then policies."""
        found = self._for_event.get(event_type)
        if found is None:
            found = self._for_event[event_type] = (
                *self._projections.get(event_type, ()),
                *self._policies.get(event_type, ()),
            )
        return found

    def projections_for(self, event_type: type[Event]) -> Sequence[Handler]:
        """Only the projections of `event_type`: what a replay runs on an event whose
        decisions are already in the log."""
        return self._projections.get(event_type, ())

    def policies_for(self, event_type: type[Event]) -> Sequence[Handler]:
        """Only the policies of `event_type`: what deciding again on an applied event runs."""
        return self._policies.get(event_type, ())

    def event_types(self) -> Iterator[type[Event]]:
        """Every type something is registered for (the service's inputs and own events)."""
        yield from dict.fromkeys((*self._projections, *self._policies))

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._projections or event_type in self._policies
