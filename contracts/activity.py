"""Events of the activity service, on topic `activity.events`: organisations, organisers,
activities, playlists."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from contracts.envelope import Event, register, upcaster

TOPIC = "activity.events"

Title = Field(min_length=1, max_length=200, description="Shown to learners as the badge name.")


class ActivityEvent(Event):
    topic: ClassVar[str] = TOPIC


class OrganisationCreated(ActivityEvent):
    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=500, description="The organisation's home page (Issuer url).")
    email: str = Field(max_length=320, description="Contact address shown in the Issuer profile.")


class OrganiserAdded(ActivityEvent):
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)


class OrganiserKeyIssued(ActivityEvent):
    """A key for an organiser: an API key for integrations, or the session of a console
    sign-in (an emailed link used once). Only the SHA-256 of its secret ever leaves the issuing
    call."""

    schema_version: ClassVar[int] = 2

    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    key_id: str = Field(min_length=8, max_length=64)
    secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # Since version 2; v1 events get them by upcasting. The defaults are an API key's.
    purpose: Literal["api", "session"] = Field(
        default="api",
        description="`api`: a key for integrations, until revoked; `session`: a console "
        "sign-in, until it expires, is ended or its holder signs out.",
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="After this the key is refused everywhere; null: never expires.",
    )
    sign_in_request_id: uuid.UUID | None = Field(
        default=None,
        description="The sign-in link (`OrganiserSignInRequested`) a session was made from: "
        "that link is used up.",
    )
    started_from: str | None = Field(
        default=None,
        max_length=200,
        description="Where a session was started, as the organiser's browser said (its kind "
        "and address), to tell their sessions apart.",
    )


@upcaster(OrganiserKeyIssued, from_version=1)
def upcast_organiser_key_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 2 gave keys a purpose and an expiry, for console sessions. Every key issued
    before was an API key that never expires."""
    return {
        **payload,
        "purpose": "api",
        "expires_at": None,
        "sign_in_request_id": None,
        "started_from": None,
    }


class OrganiserSignInAsked(ActivityEvent):
    """Someone asked the console for a sign-in link for this address: a fact on its own
    stream, appended whatever the address, so the answer tells nobody who is an organiser.
    `OrganiserSignInRequested` follows for each organiser with that address."""

    ask_id: uuid.UUID = Field(description="Random: the ask's own stream.")
    email: str = Field(max_length=320, description="As given, the domain lower-cased.")


class OrganiserSignInRequested(ActivityEvent):
    """A one-time sign-in link for an organiser, for the notifier to mail. The link's token is
    `request_id` with an HMAC tag under the claim token secret (contracts/tokens.py): it is in
    no event. Used once (an `OrganiserKeyIssued` with this `sign_in_request_id`), or never
    after `expires_at`."""

    request_id: uuid.UUID
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    email: str = Field(max_length=320)
    expires_at: AwareDatetime


class OrganiserKeyRevoked(ActivityEvent):
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    key_id: str = Field(min_length=8, max_length=64)


class OrganiserAdminRoleGranted(ActivityEvent):
    """The organiser may now add, remove and promote colleagues, and revoke any of the
    organisation's keys. In logs from before this event, an organisation's first organiser
    counts as its admin."""

    organiser_id: uuid.UUID
    organisation_id: uuid.UUID


class OrganiserRemoved(ActivityEvent):
    """The organiser no longer belongs to the organisation; every key they hold is revoked
    (each also by its own `OrganiserKeyRevoked`, emitted before this)."""

    organiser_id: uuid.UUID
    organisation_id: uuid.UUID


def _date_and_time(value: object) -> object:
    # JSON carries a time as ISO 8601 text, as the schema says; a bare number would otherwise
    # be read as seconds since 1970.
    if isinstance(value, str | datetime):
        return value
    raise ValueError("a date and time is ISO 8601 text with a zone, e.g. 2027-05-01T10:00:00Z")


Moment = Annotated[AwareDatetime, BeforeValidator(_date_and_time)]


class Place(BaseModel):
    """Where an activity happens, as learners find it in the catalogue and on its map."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Riverside community garden"])
    address: str | None = Field(default=None, max_length=500, examples=["12 Mill Lane, Leeds"])
    # Strict: a number, not text or true that would pass for one.
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=True, examples=[53.7997])
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=True, examples=[-1.5492])

    @model_validator(mode="after")
    def _a_point_or_none(self) -> Place:
        # Half a coordinate cannot be put on a map.
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude are given together or not at all")
        return self


# A BCP 47 language tag (RFC 5646) as catalogues use them: a language of 2 or 3 letters, then
# an optional script (4 letters), region (2 letters or 3 digits) and variants. Private-use and
# extension subtags are not taken: no learner's browser or screen reader knows them.
_LANGUAGE_TAG = re.compile(
    r"^[a-z]{2,3}(?:-[a-z]{4})?(?:-(?:[a-z]{2}|[0-9]{3}))?(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$",
    re.IGNORECASE,
)


def _language_tag(value: str) -> str:
    if _LANGUAGE_TAG.match(value) is None:
        raise ValueError(
            "a language is a BCP 47 tag such as en, cy, pt-BR or zh-Hant: a language code of "
            "2 or 3 letters, then an optional script, region and variants, joined by -"
        )
    # In the case the standard recommends: en-GB, zh-Hant-TW, sr-Latn.
    language, *rest = value.split("-")
    out = [language.lower()]
    for n, part in enumerate(rest):
        if n == 0 and len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif n <= 1 and len(part) == 2:
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


LanguageTag = Annotated[
    str,
    Field(min_length=2, max_length=35, examples=["en", "cy", "pt-BR"]),
    AfterValidator(_language_tag),
]


def _web_address(schemes: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("an address has no spaces or control characters")
        parts = urlsplit(value)
        if parts.scheme.lower() not in schemes:
            raise ValueError(
                f"the address must start with {' or '.join(s + '://' for s in schemes)}"
            )
        if not parts.hostname:
            raise ValueError("the address has no host name")
        if parts.username is not None or parts.password is not None:
            raise ValueError("the address may not carry a user name or password")
        return value

    return AfterValidator(check)


# A link learners follow to sign up (the organiser's booking page, a form).
SignUpLink = Annotated[
    str,
    Field(max_length=2_000, examples=["https://riverside.example.org/book/planting"]),
    _web_address(("https", "http")),
]
# An image learners' browsers load from the organiser's site: https only, since the catalogue
# is served over https in production and a browser blocks plain-http images there.
ImageAddress = Annotated[
    str,
    Field(max_length=2_000, examples=["https://riverside.example.org/img/planting.jpg"]),
    _web_address(("https",)),
]


class ActivityImage(BaseModel):
    """A picture of the activity, hosted by the organiser, with its text for those who cannot
    see it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: ImageAddress
    alt: str = Field(
        min_length=1,
        max_length=300,
        description="What the picture shows, read out by screen readers.",
        examples=["Volunteers planting seedlings in raised beds"],
    )


class ActivityContent(ActivityEvent):
    """The organiser-editable part of an activity, carried whole by each event that changes it."""

    schema_version: ClassVar[int] = 3

    activity_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str = Title
    description: str = Field(max_length=10_000)
    criteria: str = Field(max_length=10_000, description="What a learner must do to earn it.")
    # Since version 2. No defaults: a producer always says, and v1 events get them by upcasting.
    starts_at: Moment | None = Field(description="When it begins; null: no set time.")
    ends_at: Moment | None = Field(description="When it ends; not before `starts_at`.")
    place: Place | None = Field(description="Where it happens; null: anywhere or online.")
    # Since version 3. Defaults, unlike version 2's fields: each is what an activity that says
    # nothing of it is (as the upcaster from version 2 says too), so producers that predate
    # them still make valid events. `encode` always writes them.
    online: bool = Field(
        default=False,
        description="Taken part in online; an online activity has no place (it is in person "
        "at its place otherwise, or anywhere when it has none).",
    )
    language: LanguageTag | None = Field(default=None, description="BCP 47; null: not said.")
    image: ActivityImage | None = Field(default=None, description="null: no picture of its own.")
    signup_url: SignUpLink | None = Field(
        default=None, description="Where to sign up; null: no sign-up link."
    )

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> ActivityContent:
        if (
            self.starts_at is not None
            and self.ends_at is not None
            and self.ends_at < self.starts_at
        ):
            raise ValueError("ends_at is before starts_at")
        return self

    @model_validator(mode="after")
    def _online_or_at_a_place(self) -> ActivityContent:
        if self.online and self.place is not None:
            raise ValueError("an online activity has no place")
        return self


class ActivityDrafted(ActivityContent):
    pass


class ActivityUpdated(ActivityContent):
    pass


class ActivityPublished(ActivityContent):
    """The activity is public. Its content at publication is what the badge is made from."""


@upcaster(ActivityDrafted, ActivityUpdated, ActivityPublished, from_version=1)
def upcast_activity_content_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 2 gave activities dates and a place, for the learner catalogue and its map.
    An activity written before said neither: it had no set time and no place."""
    return {**payload, "starts_at": None, "ends_at": None, "place": None}


@upcaster(ActivityDrafted, ActivityUpdated, ActivityPublished, from_version=2)
def upcast_activity_content_v2_v3(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 3 gave activities a language, a picture, a sign-up link and whether they are
    online. An activity written before said none of them; it was not marked online (one with
    no place was "anywhere or online", and stays that: neither online nor at a place)."""
    return {**payload, "online": False, "language": None, "image": None, "signup_url": None}


class ActivityArchived(ActivityEvent):
    activity_id: uuid.UUID
    organisation_id: uuid.UUID


class PlaylistContent(ActivityEvent):
    playlist_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str = Title
    description: str = Field(max_length=10_000)
    activity_ids: tuple[uuid.UUID, ...] = Field(max_length=100, description="In learning order.")


class PlaylistDrafted(PlaylistContent):
    pass


class PlaylistUpdated(PlaylistContent):
    pass


class PlaylistPublished(PlaylistContent):
    """Holding the badges of every activity listed earns the playlist's badge."""


class PlaylistArchived(ActivityEvent):
    """The organiser took the playlist down: it leaves the public catalogue and changes no
    more. Badges already earned from it stay valid."""

    playlist_id: uuid.UUID
    organisation_id: uuid.UUID


register(
    OrganisationCreated,
    OrganiserAdded,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserAdminRoleGranted,
    OrganiserRemoved,
    OrganiserSignInAsked,
    OrganiserSignInRequested,
    ActivityDrafted,
    ActivityUpdated,
    ActivityPublished,
    ActivityArchived,
    PlaylistDrafted,
    PlaylistUpdated,
    PlaylistPublished,
    PlaylistArchived,
)
