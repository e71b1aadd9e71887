"""What the evidence service knows of badges and offers (from the badge service's events): the
evidence rules a new quest takes, and whether an offer's link still opens one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from contracts.badge import EvidenceMode, EvidenceTask


@dataclass(frozen=True)
class Badge:
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    name: str
    criteria: str
    evidence_mode: EvidenceMode
    tasks: tuple[EvidenceTask, ...]
    peer_approvals: int


@dataclass(frozen=True)
class Offer:
    offer_id: uuid.UUID
    badge_class_id: uuid.UUID
    email: str
    expires_at: datetime | None
