"""Events of the badge service, on topic `badge.events`: badge classes, offers, claims,
awards, revocations. Every event of a badge is keyed by its badge class id, so one processor
decides its claims in log order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Event, register

TOPIC = "badge.events"

EvidenceMode = Literal["none", "self", "peer", "organiser"]

# Limits of the badge's settings, shared with the organiser API that takes them, so a request
# the API accepts is always an event that validates.
BadgeName = Annotated[str, Field(min_length=1, max_length=200)]
BadgeText = Annotated[str, Field(max_length=10_000)]
Address = Annotated[str, Field(max_length=320)]
ExpiresAfterDays = Annotated[int, Field(ge=1, le=36_500)]
PeerApprovals = Annotated[int, Field(ge=1, le=10)]
MAX_TASKS = 20
TaskTitle = Annotated[str, Field(min_length=1, max_length=200)]
TaskDescription = Annotated[str, Field(max_length=5_000)]
TaskMaxChars = Annotated[int, Field(ge=1, le=20_000)]
TaskMaxBytes = Annotated[int, Field(ge=1, le=20 * 1024 * 1024)]
MAX_MEDIA_TYPES = 20
RevocationReason = Annotated[str, Field(min_length=1, max_length=1_000)]


class BadgeEvent(Event):
    topic: ClassVar[str] = TOPIC


class BlobRef(BaseModel):
    """A file in the content-addressed blob store: events carry its address, never its bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    media_type: Literal["image/png", "image/svg+xml"]


class OpenLink(BaseModel):
    """The badge's shareable claim link (and its QR code)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    max_claims: int | None = Field(default=None, ge=1, le=1_000_000)
    valid_until: datetime | None = None


class EvidenceTask(BaseModel):
    """One thing a learner shows on a quest for the badge."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: uuid.UUID
    title: TaskTitle
    description: TaskDescription = ""
    kind: Literal["text", "url", "file"]
    max_chars: TaskMaxChars = Field(default=5_000, description="For text evidence.")
    max_bytes: TaskMaxBytes = 5 * 1024 * 1024
    media_types: tuple[str, ...] = Field(
        default=("image/png", "image/jpeg", "application/pdf"), max_length=MAX_MEDIA_TYPES
    )


class EvidenceItem(BaseModel):
    """Open Badges evidence: what the learner showed, and where to see it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    narrative: str = Field(max_length=25_000)
    url: str = Field(max_length=2_000)


class BadgeClassCreated(BadgeEvent):
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID = Field(description="The organisation that issues it.")
    source_kind: Literal["activity", "playlist"]
    source_id: uuid.UUID = Field(description="The activity or playlist it was made from.")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=10_000)
    criteria_narrative: str = Field(max_length=10_000)
    image: BlobRef
    required_activity_ids: tuple[uuid.UUID, ...] = Field(
        default=(), description="For a playlist badge: the activities whose badges earn it."
    )


class BadgeClassEdited(BadgeEvent):
    """The organiser's settings of a badge, whole, as they are from now on."""

    badge_class_id: uuid.UUID
    name: BadgeName
    description: BadgeText
    criteria_narrative: BadgeText
    image: BlobRef
    expires_after_days: int | None = Field(default=None, ge=1, le=36_500)
    evidence_mode: EvidenceMode = "none"
    open_link: OpenLink = OpenLink()
    tasks: tuple[EvidenceTask, ...] = Field(default=(), max_length=MAX_TASKS)
    peer_approvals: PeerApprovals = 1


class PeerReviewerInvited(BadgeEvent):
    """Someone the organiser trusts to review evidence for this badge, by email."""

    badge_class_id: uuid.UUID
    email: Address


class OpenLinkRegenerated(BadgeEvent):
    """A new open claim link; links of earlier generations stop working."""

    badge_class_id: uuid.UUID
    generation: int = Field(ge=2)


class BadgeIssuingClosed(BadgeEvent):
    """The badge is issued to nobody new from now on: its playlist was archived
    (PlaylistArchived, its cause). No more offers, bulk issues or playlist awards; what was
    awarded stays valid and can still be revoked, and an offer made before stays claimable
    until it expires (its learner was told)."""

    badge_class_id: uuid.UUID


class BadgeOffered(BadgeEvent):
    """A personal claim link was made for one email address; the notifier mails it.

    The link's token is derived from `offer_id` with a secret key, so it is in no log.
    Badge and issuer names travel along so the email needs nothing else.
    """

    offer_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    recipient_email: str = Field(max_length=320)
    via: Literal["email", "open_link"]
    open_link_generation: int | None = Field(
        default=None, description="For an offer asked for through the open link: its generation."
    )
    expires_at: datetime
    badge_name: str = Field(max_length=200)
    badge_description: str = Field(max_length=10_000)
    issuer_name: str = Field(max_length=200)


class HeldBadgeRequested(BadgeEvent):
    """Someone asked the open link for a badge their address already holds. The page answers
    them as it answers anyone (a link is on its way); the email tells them they hold it."""

    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    assertion_id: uuid.UUID = Field(description="The badge they hold.")
    recipient_email: str = Field(max_length=320)
    open_link_generation: int = Field(ge=1)
    badge_name: str = Field(max_length=200)
    issuer_name: str = Field(max_length=200)


class OfferResendRequested(BadgeEvent):
    """The organiser asked for an offer whose email failed to be mailed again; the notifier
    sends the same claim link once more."""

    offer_id: uuid.UUID
    badge_class_id: uuid.UUID


class ClaimRequested(BadgeEvent):
    """Someone holding the offer's link pressed Accept; the processor decides in log order."""

    offer_id: uuid.UUID
    badge_class_id: uuid.UUID
    request_id: uuid.UUID


class BadgeAwarded(BadgeEvent):
    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    offer_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = Field(default=None, description="The claim it answers.")
    reason: Literal["claim", "playlist", "evidence"] = "claim"
    recipient_email: str = Field(max_length=320)
    recipient_salt: str = Field(min_length=16, max_length=64)
    issued_on: datetime
    expires: datetime | None = None
    badge_name: str = Field(max_length=200)
    issuer_name: str = Field(max_length=200)
    evidence: tuple[EvidenceItem, ...] = ()


class ClaimRejected(BadgeEvent):
    offer_id: uuid.UUID
    request_id: uuid.UUID
    reason: Literal["already_claimed", "expired", "revoked", "limit_reached", "evidence_required"]


class AssertionRevoked(BadgeEvent):
    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    reason: RevocationReason


# A bulk issue's rejected rows as its request records them: the first ones, to show.
MAX_REJECTED_KEPT = 1_000


class RecipientsFile(BaseModel):
    """A bulk issue's CSV file in the content-addressed blob store (its bytes are not in the
    log; its offers, once made, are)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1, le=2 * 1024 * 1024)


class RejectedRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int = Field(ge=1, description="As a spreadsheet numbers it (a header row is row 1).")
    value: str = Field(max_length=320)
    reason: str = Field(max_length=500)


class BulkIssueRequested(BadgeEvent):
    """An organiser's CSV of recipients was accepted, to be worked through after the answer:
    its offers are made in chunks, each `BadgeOffered` correlated by `issue_id` and its id
    derived from `idempotency_key` and the address, so working it again (a restart, a second
    instance) makes no offer twice."""

    issue_id: uuid.UUID
    badge_class_id: uuid.UUID
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    idempotency_key: str = Field(min_length=1, max_length=200)
    file: RecipientsFile
    rows: int = Field(ge=0, le=10_000, description="Rows with a valid address, each one offer.")
    rejected: tuple[RejectedRow, ...] = Field(
        default=(), max_length=MAX_REJECTED_KEPT, description="The first rejected rows."
    )
    rejected_count: int = Field(default=0, ge=0, le=10_000)


class BulkIssueFinished(BadgeEvent):
    """Every offer of a bulk issue is made (or, with `error`, it stopped: the badge can no
    longer be issued, say); its emails may still be on their way."""

    issue_id: uuid.UUID
    badge_class_id: uuid.UUID
    offers: int = Field(ge=0, le=10_000)
    error: str | None = Field(default=None, max_length=500)


# A Bitstring Status List of 131,072 entries (16 KiB), the spec's minimum for privacy: an
# index drawn at random among them says nothing of how many badges an issuer gave.
STATUS_LIST_SIZE = 131_072
MultibaseKey = Annotated[str, Field(pattern=r"^z[1-9A-HJ-NP-Za-km-z]{44,50}$")]


class IssuerCredentialEvent(Event):
    """An event of an issuer's Open Badges 3.0 credentials (its keys, the credentials it
    signed), keyed by the issuer's id: one stream per issuing organisation."""

    topic: ClassVar[str] = TOPIC


class IssuerKeyCreated(IssuerCredentialEvent):
    """A signing key of the issuing organisation (keyed by its id), the newest one signing
    from now on; keys of earlier generations stay published. The private key is derived from
    the operator's secret (`secret_id` names which, without revealing it) and is in no event."""

    issuer_id: uuid.UUID
    generation: int = Field(ge=1, description="1 when the organisation is created, +1 a rotation.")
    public_key_multibase: MultibaseKey = Field(description="Ed25519, as a Multikey.")
    secret_id: str = Field(pattern=r"^[0-9a-f]{16}$")


class IssuerKeyCompromised(IssuerCredentialEvent):
    """The key is known to others from `compromised_since`: what it signed from then on is not
    the issuer's. Its verification method is published with `revoked` at that time."""

    issuer_id: uuid.UUID
    generation: int = Field(ge=1)
    compromised_since: datetime


class SignedAssertionsEnabled(IssuerCredentialEvent):
    """The issuer's Open Badges 2.0 Assertions are offered signed too (`verification: signed`,
    a JWS with RS256). Its RSA key's private half travels only encrypted (AES-256-GCM under a
    key derived from the operator's secret `secret_id` names)."""

    issuer_id: uuid.UUID
    public_key_pem: str = Field(max_length=2_000, pattern=r"^-----BEGIN PUBLIC KEY-----")
    wrapped_private_key: str = Field(max_length=4_000, description="base64url(nonce + sealed)")
    secret_id: str = Field(pattern=r"^[0-9a-f]{16}$")


class BadgeClassEndorsed(IssuerCredentialEvent):
    """An organisation (the endorser, whose stream this is) vouches for another's badge: an
    Open Badges 2.0 Endorsement and a signed 3.0 EndorsementCredential, as the text served."""

    endorsement_id: uuid.UUID
    endorser_id: uuid.UUID
    badge_class_id: uuid.UUID
    comment: str = Field(min_length=1, max_length=5_000)
    credential: str = Field(max_length=100_000)


class CredentialIssued(IssuerCredentialEvent):
    """The award's Open Badges 3.0 credential, signed, as the exact JSON text served."""

    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    key_generation: int = Field(ge=1)
    status_list_index: int = Field(ge=0, lt=STATUS_LIST_SIZE)
    credential: str = Field(max_length=200_000)


register(
    IssuerKeyCreated,
    IssuerKeyCompromised,
    SignedAssertionsEnabled,
    BadgeClassEndorsed,
    CredentialIssued,
    BadgeClassCreated,
    BadgeClassEdited,
    OpenLinkRegenerated,
    PeerReviewerInvited,
    BadgeIssuingClosed,
    BadgeOffered,
    HeldBadgeRequested,
    OfferResendRequested,
    ClaimRequested,
    BadgeAwarded,
    ClaimRejected,
    AssertionRevoked,
    BulkIssueRequested,
    BulkIssueFinished,
)
