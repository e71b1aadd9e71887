"""Every event the services exchange, and the envelope they travel in. Nothing else lives here."""

from contracts import activity, badge, evidence, notifier
from contracts.envelope import (
    Envelope,
    Event,
    decode,
    derived_envelope,
    derived_id,
    encode,
    new_envelope,
    registry,
)

TOPICS = (activity.TOPIC, badge.TOPIC, evidence.TOPIC, notifier.TOPIC)

__all__ = [
    "TOPICS",
    "Envelope",
    "Event",
    "activity",
    "badge",
    "decode",
    "derived_envelope",
    "derived_id",
    "encode",
    "evidence",
    "new_envelope",
    "notifier",
    "registry",
]
