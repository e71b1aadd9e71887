"""Organiser API: the organisation's activities (publishing one creates its badge)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from fastapi import APIRouter
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from contracts.activity import (
    ActivityContent,
    ActivityImage,
    LanguageTag,
    Moment,
    Place,
    SignUpLink,
)
from services.activity import service_layer
from services.activity.adapters import read_models
from services.activity.domain.model import (
    Activity,
    ArchiveActivity,
    DraftActivity,
    PublishActivity,
    Status,
    UpdateActivity,
)
from services.activity.entrypoints.bodies import Body, Changes, LimitsOf, Runtime
from services.kernel.errors import Forbidden, NotFound
from services.organiser_access import CurrentOrganiser, Organiser

Title = Annotated[str, LimitsOf(ActivityContent, "title")]
Description = Annotated[str, LimitsOf(ActivityContent, "description")]
Criteria = Annotated[str, LimitsOf(ActivityContent, "criteria")]

router = APIRouter(prefix="/v1/activities", tags=["activities"])


class NewActivity(Body):
    title: Title
    description: Description = ""
    criteria: Criteria = Field(default="", description="What a learner does to earn the badge.")
    starts_at: Moment | None = Field(default=None, examples=["2027-05-01T10:00:00+01:00"])
    ends_at: Moment | None = Field(default=None, description="Not before `starts_at`.")
    place: Place | None = None
    online: bool = Field(default=False, description="Taken part in online: then no `place`.")
    language: LanguageTag | None = Field(default=None, description="A BCP 47 tag: en, cy, pt-BR.")
    image: ActivityImage | None = Field(
        default=None, description="A picture on the organiser's site (https) and its text."
    )
    signup_url: SignUpLink | None = Field(
        default=None, description="Where learners sign up (http or https)."
    )


class ActivityChanges(Changes):
    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    criteria: Criteria | SkipJsonSchema[None] = None
    starts_at: Moment | None = Field(default=None, description="null: no set time.")
    ends_at: Moment | None = Field(default=None, description="null: no set end.")
    place: Place | None = Field(default=None, description="null: no place.")
    online: bool | SkipJsonSchema[None] = None
    language: LanguageTag | None = Field(default=None, description="null: not said.")
    image: ActivityImage | None = Field(default=None, description="null: no picture.")
    signup_url: SignUpLink | None = Field(default=None, description="null: no sign-up link.")
    nullable: ClassVar[frozenset[str]] = frozenset(
        {"starts_at", "ends_at", "place", "language", "image", "signup_url"}
    )


class ActivityOut(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    description: str
    criteria: str
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    place: Place | None
    online: bool
    language: str | None
    image: ActivityImage | None
    signup_url: str | None
    catalogue_url: str = Field(description="Its public page, once published (a path).")

    @classmethod
    def of(cls, activity: Activity) -> ActivityOut:
        fields = {k: v for k, v in vars(activity).items() if k != "activity_id"}
        page = f"/catalogue/activities/{activity.activity_id}"
        return cls(id=activity.activity_id, catalogue_url=page, **fields)


def owned(found: Activity | None, organiser: Organiser) -> Activity:
    if found is None:
        raise NotFound("activity not found")
    if found.organisation_id != organiser.organisation_id:
        raise Forbidden("this activity belongs to another organisation")
    return found


@router.post("", status_code=201)
async def draft_activity(
    body: NewActivity, organiser: CurrentOrganiser, runtime: Runtime
) -> ActivityOut:
    command = DraftActivity(
        activity_id=uuid.uuid4(),
        organisation_id=organiser.organisation_id,
        title=body.title,
        description=body.description,
        criteria=body.criteria,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        place=body.place,
        online=body.online,
        language=body.language,
        image=body.image,
        signup_url=body.signup_url,
    )
    return ActivityOut.of(await service_layer.handle_activity(runtime, organiser.actor, command))


@router.get("")
async def list_activities(
    organiser: CurrentOrganiser, runtime: Runtime, status: Status | None = None
) -> list[ActivityOut]:
    async with runtime.pool.acquire() as conn:
        found = await read_models.list_activities(conn, organiser.organisation_id, status)
    return [ActivityOut.of(activity) for activity in found]


@router.get("/{activity_id}")
async def get_activity(
    activity_id: uuid.UUID, organiser: CurrentOrganiser, runtime: Runtime
) -> ActivityOut:
    async with runtime.pool.acquire() as conn:
        activity = await read_models.get_activity(conn, activity_id)
    return ActivityOut.of(owned(activity, organiser))


@router.patch("/{activity_id}")
async def update_activity(
    activity_id: uuid.UUID, body: ActivityChanges, organiser: CurrentOrganiser, runtime: Runtime
) -> ActivityOut:
    """Edit an activity. Editing a published activity leaves its badge as it is.

    A field left out stays as it is; `null` is refused with 422 (send "" to empty a
    field)."""
    command = UpdateActivity(
        activity_id=activity_id,
        organisation_id=organiser.organisation_id,
        # Attributes, not model_dump(): a place stays a Place.
        **{field: getattr(body, field) for field in body.model_fields_set},
    )
    return ActivityOut.of(await service_layer.handle_activity(runtime, organiser.actor, command))


@router.post("/{activity_id}/publish")
async def publish_activity(
    activity_id: uuid.UUID, organiser: CurrentOrganiser, runtime: Runtime
) -> ActivityOut:
    """Publish the activity; its badge is created from it at once."""
    command = PublishActivity(activity_id, organiser.organisation_id)
    return ActivityOut.of(await service_layer.handle_activity(runtime, organiser.actor, command))


@router.post("/{activity_id}/archive")
async def archive_activity(
    activity_id: uuid.UUID, organiser: CurrentOrganiser, runtime: Runtime
) -> ActivityOut:
    command = ArchiveActivity(activity_id, organiser.organisation_id)
    return ActivityOut.of(await service_layer.handle_activity(runtime, organiser.actor, command))
