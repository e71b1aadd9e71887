"""The learner's home: the badges awarded to the addresses they proved, their state, what a
badge's public page says of them, their progress on playlists, and invitations to a playlist.

Pure: awards and playlists as the badge service's events left them, rules as `decide_*`.
Nothing here answers for an address the learner has not proved: every read and every decision
takes the proved addresses, and someone else's award is refused exactly as a missing one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from contracts.badge import EvidenceItem
from contracts.evidence import AddressSignInAsked, PlaylistInvitationSent, RecipientDisplayChanged
from services.evidence.domain.addresses import normalise_email
from services.kernel.errors import Forbidden, Invalid, NotFound

AwardState = Literal["valid", "expired", "revoked"]

# At most this many people in one invitation, and a note this long.
MAX_INVITEES = 20
MAX_NOTE = 500
MAX_DISPLAY_NAME = 100


@dataclass(frozen=True)
class Award:
    """One awarded badge (an Assertion), as the badge service's events describe it."""

    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    recipient_email: str
    badge_name: str
    issuer_name: str
    issued_on: datetime
    expires: datetime | None = None
    revoked: bool = False
    revocation_reason: str = ""
    evidence: tuple[EvidenceItem, ...] = ()
    display_name: str | None = None
    image_type: str = "image/png"

    def state(self, now: datetime) -> AwardState:
        if self.revoked:
            return "revoked"
        if self.expires is not None and now >= self.expires:
            return "expired"
        return "valid"

    @property
    def counts(self) -> bool:
        """Whether it counts towards a playlist: a revoked badge does not."""
        return not self.revoked


def download_formats(award: Award) -> list[str]:
    """The baked files the badge service makes of it: a PNG badge also as an SVG (the PNG
    inside); an SVG badge as SVG. None once revoked."""
    if award.revoked:
        return []
    return ["png", "svg"] if award.image_type == "image/png" else ["svg"]


def _printable(text: str, what: str) -> str:
    """Text kept in the log and in read models: no control characters but line breaks (a NUL
    cannot be stored, and none belongs in a name or a note)."""
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise Invalid(f"{what} cannot hold control characters.")
    return text


def newest_first(awards: list[Award]) -> list[Award]:
    return sorted(awards, key=lambda a: (a.issued_on, a.assertion_id), reverse=True)


def decide_address_sign_in(email: str) -> list[AddressSignInAsked]:
    """Always the ask, whatever the address: the answer must not tell who holds badges."""
    return [AddressSignInAsked(learner_email=normalise_email(email))]


def own_award(award: Award | None, proved: tuple[str, ...]) -> Award:
    """The award, if it was made to one of the proved addresses. Someone else's is refused
    with the words a missing one gets, so the answer says nothing about who holds what."""
    if award is None or award.recipient_email not in proved:
        raise NotFound("There is no such badge among yours.")
    return award


def decide_recipient_name(
    award: Award | None, proved: tuple[str, ...], show_name: bool, name: str
) -> list[RecipientDisplayChanged]:
    """What the award's public page says of its holder: their name as typed, or the masked
    address. Nothing is appended when the choice is the one already in force."""
    held = own_award(award, proved)
    display: str | None = None
    if show_name:
        display = " ".join(_printable(name, "A name").split())
        if not display:
            raise Invalid("Type the name the badge page should show, or choose not to show it.")
        if len(display) > MAX_DISPLAY_NAME:
            raise Invalid(f"A name has at most {MAX_DISPLAY_NAME} characters.")
    if display == held.display_name:
        return []
    return [
        RecipientDisplayChanged(
            assertion_id=held.assertion_id,
            badge_class_id=held.badge_class_id,
            display_name=display,
        )
    ]


@dataclass(frozen=True)
class PlaylistBadge:
    """A published playlist, as its badge tells it: the activities whose badges earn it, in
    learning order (a playlist's badge is made when the playlist is published)."""

    badge_class_id: uuid.UUID
    playlist_id: uuid.UUID
    issuer_id: uuid.UUID
    issuer_name: str
    name: str
    activity_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class ActivityBadge:
    badge_class_id: uuid.UUID
    activity_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class Step:
    activity_id: uuid.UUID
    name: str
    earned: Award | None
    is_next: bool


@dataclass(frozen=True)
class Progress:
    playlist: PlaylistBadge
    steps: tuple[Step, ...]
    playlist_award: Award | None

    @property
    def earned(self) -> int:
        return sum(1 for step in self.steps if step.earned is not None)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def started(self) -> bool:
        return self.earned > 0

    @property
    def next_step(self) -> Step | None:
        return next((step for step in self.steps if step.is_next), None)


def progress(
    playlist: PlaylistBadge,
    activity_badges: dict[uuid.UUID, ActivityBadge],
    awards: list[Award],
) -> Progress:
    """The learner's way through a playlist: each activity in order, earned (a badge of it
    not revoked, on a proved address) or not; the first not earned is next; and the playlist's
    badge once awarded. `activity_badges` maps activity ids to their badges."""
    by_badge: dict[uuid.UUID, Award] = {}
    for award in newest_first(awards):
        if award.counts:
            by_badge.setdefault(award.badge_class_id, award)
    steps: list[Step] = []
    next_found = False
    for activity_id in playlist.activity_ids:
        badge = activity_badges.get(activity_id)
        earned = by_badge.get(badge.badge_class_id) if badge else None
        is_next = earned is None and not next_found
        next_found = next_found or is_next
        steps.append(Step(activity_id, badge.name if badge else "An activity", earned, is_next))
    return Progress(playlist, tuple(steps), by_badge.get(playlist.badge_class_id))


def follows(progress_made: Progress) -> bool:
    """A learner follows a playlist once they hold one of its activities' badges."""
    return progress_made.started


@dataclass(frozen=True)
class Inviter:
    kind: Literal["organiser", "learner"]
    who: str  # the organiser's name, or the learner's address
    organisation_id: uuid.UUID | None = None  # an organiser's
    follows: bool = False  # a learner's: whether they follow the playlist


def decide_invitation(
    invitation_id: uuid.UUID,
    playlist: PlaylistBadge | None,
    inviter: Inviter,
    invitees: list[str],
    note: str = "",
) -> list[PlaylistInvitationSent]:
    """People invited to a published playlist by email: by an organiser of its organisation,
    or by a learner who follows it. Addresses arrive valid and normalised; repeats and the
    inviter's own address are dropped."""
    if playlist is None:
        raise NotFound("There is no such published playlist.")
    if inviter.kind == "organiser" and inviter.organisation_id != playlist.issuer_id:
        raise Forbidden("This playlist belongs to another organisation.")
    if inviter.kind == "learner" and not inviter.follows:
        raise Forbidden(
            "Only learners who follow this playlist (who hold one of its badges) can invite "
            "people to it."
        )
    people = [a for a in dict.fromkeys(invitees) if a != inviter.who]
    if not people:
        raise Invalid("Give at least one email address (other than your own) to invite.")
    if len(people) > MAX_INVITEES:
        raise Invalid(f"Invite at most {MAX_INVITEES} people at a time.")
    text = _printable(note, "A note").strip()
    if len(text) > MAX_NOTE:
        raise Invalid(f"A note has at most {MAX_NOTE} characters.")
    return [
        PlaylistInvitationSent(
            invitation_id=invitation_id,
            playlist_id=playlist.playlist_id,
            playlist_name=playlist.name,
            issuer_id=playlist.issuer_id,
            issuer_name=playlist.issuer_name,
            inviter_kind=inviter.kind,
            inviter=inviter.who,
            invitees=tuple(people),
            note=text,
        )
    ]
