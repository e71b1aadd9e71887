"""What the organiser API takes and answers. Limits come from the events the requests become
(`contracts.badge`), so what the API accepts always makes a valid event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Header
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from contracts.badge import (
    MAX_MEDIA_TYPES,
    MAX_TASKS,
    Address,
    BadgeName,
    BadgeText,
    EvidenceMode,
    EvidenceTask,
    ExpiresAfterDays,
    OpenLink,
    PeerApprovals,
    RevocationReason,
    TaskDescription,
    TaskMaxBytes,
    TaskMaxChars,
    TaskTitle,
)
from services.badge.domain.model import BadgeClass, allowed_open_link
from services.badge.entrypoints import recipients
from services.badge.entrypoints.open_badges import OpenBadgesUrls


class BadgeClassOut(BaseModel):
    id: uuid.UUID
    issuer_id: uuid.UUID
    source_kind: str
    source_id: uuid.UUID
    name: str
    description: str
    criteria_narrative: str
    image_url: str
    open_badges_url: str
    required_activity_ids: list[uuid.UUID]
    expires_after_days: int | None
    evidence_mode: str
    open_link: OpenLink
    open_link_claims: int
    tasks: list[EvidenceTask]
    peer_approvals: int
    issuing_closed_at: datetime | None = Field(
        description="When its playlist was archived: no new offers or awards since."
    )
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(
        default=[], description="What may not work as you expect with these settings, and why."
    )

    @classmethod
    def of(
        cls, badge: BadgeClass, urls: OpenBadgesUrls, warnings: list[str] | None = None
    ) -> BadgeClassOut:
        return cls(
            id=badge.badge_class_id,
            issuer_id=badge.issuer_id,
            source_kind=badge.source_kind,
            source_id=badge.source_id,
            name=badge.name,
            description=badge.description,
            criteria_narrative=badge.criteria_narrative,
            image_url=urls.badge_image(badge.badge_class_id),
            open_badges_url=urls.badge_class(badge.badge_class_id),
            required_activity_ids=list(badge.required_activity_ids),
            expires_after_days=badge.expires_after_days,
            evidence_mode=badge.evidence_mode,
            # A row projected before playlist badges lost their link shows it off, as it is.
            open_link=allowed_open_link(badge, badge.open_link),
            open_link_claims=badge.open_link_claims,
            tasks=list(badge.tasks),
            peer_approvals=badge.peer_approvals,
            issuing_closed_at=badge.issuing_closed_at,
            created_at=badge.created_at,
            updated_at=badge.updated_at,
            warnings=warnings or [],
        )


MediaType = Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")]


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    task_id: uuid.UUID | None = Field(default=None, description="Keep it to edit a task in place.")
    title: TaskTitle
    description: TaskDescription = ""
    kind: Literal["text", "url", "file"]
    max_chars: TaskMaxChars = 5_000
    max_bytes: TaskMaxBytes = 5 * 1024 * 1024
    media_types: list[MediaType] = Field(
        default=["image/png", "image/jpeg", "application/pdf"], max_length=MAX_MEDIA_TYPES
    )

    def task(self, badge_class_id: uuid.UUID) -> EvidenceTask:
        # A task keeps its id while its title stays, so quests under way still match it.
        task_id = self.task_id or uuid.uuid5(badge_class_id, f"task:{self.title}")
        return EvidenceTask(task_id=task_id, **self.model_dump(exclude={"task_id"}))


class PeersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emails: list[Address] = Field(min_length=1, max_length=200)


Criteria = Annotated[
    BadgeText,
    Field(description="What earns the badge, in words (the BadgeClass's `criteria.narrative`)."),
]


class BadgeChanges(BaseModel):
    """Fields left out stay as they are. Only `expires_after_days` takes null (never expires):
    the others cannot be emptied that way, so their schema shows them as not nullable."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"not": {"required": ["criteria", "criteria_narrative"]}},
    )

    name: BadgeName | SkipJsonSchema[None] = None
    description: BadgeText | SkipJsonSchema[None] = None
    criteria: Criteria | SkipJsonSchema[None] = None
    criteria_narrative: Criteria | SkipJsonSchema[None] = Field(
        default=None, description="The same as `criteria` (give one of them)."
    )
    expires_after_days: ExpiresAfterDays | None = Field(
        default=None, description="Days an award stays valid; null: forever."
    )
    evidence_mode: EvidenceMode | SkipJsonSchema[None] = None
    open_link: OpenLink | SkipJsonSchema[None] = None
    tasks: Annotated[list[TaskIn], Field(max_length=MAX_TASKS)] | SkipJsonSchema[None] = None
    peer_approvals: PeerApprovals | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _one_criteria(self) -> BadgeChanges:
        if {"criteria", "criteria_narrative"} <= self.model_fields_set:
            raise ValueError("give `criteria` or `criteria_narrative` (the same field), not both")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given, under the badge's own names (`criteria` is `criteria_narrative`)."""
        given = {field: getattr(self, field) for field in self.model_fields_set}
        if "criteria" in given:
            given["criteria_narrative"] = given.pop("criteria")
        return given


class EmailsIn(BaseModel):
    """One address (`email`) or a list of them (`emails`): one of the two, not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["email"]}, {"required": ["emails"]}]},
    )

    email: Address | SkipJsonSchema[None] = None
    emails: (
        Annotated[list[Address], Field(min_length=1, max_length=recipients.MAX_ROWS)]
        | SkipJsonSchema[None]
    ) = None

    @model_validator(mode="after")
    def _email_or_emails(self) -> EmailsIn:
        if self.model_fields_set != {"email"} and self.model_fields_set != {"emails"}:
            raise ValueError("give `email` (one address) or `emails` (a list), one of the two")
        if self.email is None and self.emails is None:
            raise ValueError("`email` or `emails` cannot be null")
        return self


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: RevocationReason


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Send the same key when retrying: nothing is issued twice.",
    ),
]


Prefer = Annotated[
    str | None,
    Header(
        description="`respond-async`: answer 202 at once with the issue's `progress_url` and "
        "make its offers after the answer (a CSV of 10,000 rows takes a while).",
    ),
]
