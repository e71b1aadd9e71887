"""The badge aggregate's state, event by event: `evolve` takes every event the badge service
owns, and what each changes is what the rules read next."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import Envelope, new_envelope
from contracts.badge import (
    AssertionRevoked,
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeEvent,
    BadgeIssuingClosed,
    BadgeOffered,
    BlobRef,
    BulkIssueFinished,
    BulkIssueRequested,
    ClaimRejected,
    ClaimRequested,
    EvidenceTask,
    HeldBadgeRequested,
    OfferResendRequested,
    OpenLink,
    OpenLinkRegenerated,
    PeerReviewerInvited,
    RecipientsFile,
)
from services.badge.domain.model import Badge, evolve, with_email_status

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
IMAGE = BlobRef(sha256="1" * 64, size=10, media_type="image/png")
BADGE_ID = uuid.uuid4()
ISSUER_ID = uuid.uuid4()


class Stream:
    """One badge's stream, applied through `evolve` as the projections and in-memory state do."""

    def __init__(self) -> None:
        self.state: Badge | None = None
        self.version = 0

    def apply(self, event: BadgeEvent, minutes: int = 0) -> Badge:
        self.version += 1
        envelope: Envelope[Any] = new_envelope(
            event,
            stream_id=BADGE_ID,
            stream_version=self.version,
            actor="t",
            occurred_at=T0 + timedelta(minutes=minutes),
        )
        self.state = evolve(self.state, envelope)
        return self.state


def created(kind: str = "activity") -> BadgeClassCreated:
    return BadgeClassCreated(
        badge_class_id=BADGE_ID,
        issuer_id=ISSUER_ID,
        source_kind=kind,  # type: ignore[arg-type]
        source_id=uuid.uuid4(),
        name="Knots",
        description="Tie them.",
        criteria_narrative="Take part.",
        image=IMAGE,
    )


def offered(via: str = "open_link", email: str = "a@example.org") -> BadgeOffered:
    return BadgeOffered(
        offer_id=uuid.uuid4(),
        badge_class_id=BADGE_ID,
        issuer_id=ISSUER_ID,
        recipient_email=email,
        via=via,  # type: ignore[arg-type]
        open_link_generation=1 if via == "open_link" else None,
        expires_at=T0 + timedelta(days=90),
        badge_name="Knots",
        badge_description="Tie them.",
        issuer_name="Riverside",
    )


def awarded(offer: BadgeOffered | None, request_id: uuid.UUID | None = None) -> BadgeAwarded:
    return BadgeAwarded(
        assertion_id=uuid.uuid4(),
        badge_class_id=BADGE_ID,
        issuer_id=ISSUER_ID,
        offer_id=offer.offer_id if offer else None,
        request_id=request_id,
        recipient_email=offer.recipient_email if offer else "p@example.org",
        recipient_salt="s" * 32,
        issued_on=T0,
        badge_name="Knots",
        issuer_name="Riverside",
    )


def test_a_badge_class_is_created_and_edited() -> None:
    stream = Stream()
    badge = stream.apply(created()).badge_class
    assert badge.badge_class_id == BADGE_ID and badge.created_at == T0
    assert badge.open_link.enabled and badge.open_link_generation == 1
    assert not stream.apply(created("playlist")).badge_class.open_link.enabled

    task = EvidenceTask(task_id=uuid.uuid4(), title="Show it", kind="text")
    edited = BadgeClassEdited(
        badge_class_id=BADGE_ID,
        name="Knots and hitches",
        description="More.",
        criteria_narrative="Show them.",
        image=IMAGE,
        expires_after_days=30,
        evidence_mode="self",
        open_link=OpenLink(max_claims=5),
        tasks=(task,),
        peer_approvals=2,
    )
    stream = Stream()
    stream.apply(created())
    after = stream.apply(edited, minutes=5).badge_class
    assert (after.name, after.expires_after_days, after.evidence_mode) == (
        "Knots and hitches",
        30,
        "self",
    )
    assert after.open_link.max_claims == 5 and after.tasks == (task,)
    assert after.peer_approvals == 2 and after.updated_at == T0 + timedelta(minutes=5)
    assert after.created_at == T0


def test_a_playlist_badges_link_stays_off_whatever_an_edit_says() -> None:
    stream = Stream()
    playlist = stream.apply(created("playlist")).badge_class
    edited = BadgeClassEdited(
        badge_class_id=BADGE_ID,
        name=playlist.name,
        description=playlist.description,
        criteria_narrative=playlist.criteria_narrative,
        image=IMAGE,
        open_link=OpenLink(enabled=True),
    )
    assert not stream.apply(edited).badge_class.open_link.enabled


def test_regenerating_the_link_moves_its_generation() -> None:
    stream = Stream()
    stream.apply(created())
    after = stream.apply(OpenLinkRegenerated(badge_class_id=BADGE_ID, generation=2), minutes=3)
    assert after.badge_class.open_link_generation == 2
    assert after.badge_class.updated_at == T0 + timedelta(minutes=3)


def test_closing_issuing_keeps_when_it_closed() -> None:
    stream = Stream()
    stream.apply(created("playlist"))
    closed = stream.apply(BadgeIssuingClosed(badge_class_id=BADGE_ID), minutes=5)
    assert closed.badge_class.issuing_closed_at == T0 + timedelta(minutes=5)
    # Its settings did not change with it.
    assert closed.badge_class.updated_at == T0
    again = stream.apply(BadgeIssuingClosed(badge_class_id=BADGE_ID), minutes=9)
    assert again.badge_class.issuing_closed_at == T0 + timedelta(minutes=5)


def test_offers_claims_awards_and_rejections() -> None:
    stream = Stream()
    stream.apply(created())
    by_link, by_email = offered("open_link"), offered("email", "b@example.org")
    stream.apply(by_link)
    state = stream.apply(by_email)
    assert set(state.offers) == {by_link.offer_id, by_email.offer_id}
    # An offer made again under its id (a retried issue) stands as first made.
    again = by_email.model_copy(update={"recipient_email": "other@example.org"})
    assert stream.apply(again).offers[by_email.offer_id].recipient_email == "b@example.org"

    request = ClaimRequested(
        offer_id=by_link.offer_id, badge_class_id=BADGE_ID, request_id=uuid.uuid4()
    )
    assert stream.apply(request).claims[request.request_id].outcome == "pending"
    award = awarded(by_link, request.request_id)
    state = stream.apply(award)
    assert state.claims[request.request_id].outcome == "awarded"
    assert state.claims[request.request_id].assertion_id == award.assertion_id
    assert state.offers[by_link.offer_id].assertion_id == award.assertion_id
    assert state.assertions[award.assertion_id].recipient_email == "a@example.org"
    assert state.holds("A@example.org ") and not state.holds("b@example.org")
    # Counted: an award through the open link; not one through a mailed offer or a playlist.
    assert state.badge_class.open_link_claims == 1
    assert stream.apply(awarded(by_email)).badge_class.open_link_claims == 1
    assert stream.apply(awarded(None)).badge_class.open_link_claims == 1

    late = ClaimRequested(
        offer_id=by_link.offer_id, badge_class_id=BADGE_ID, request_id=uuid.uuid4()
    )
    stream.apply(late)
    rejected = ClaimRejected(
        offer_id=by_link.offer_id, request_id=late.request_id, reason="already_claimed"
    )
    claim = stream.apply(rejected).claims[late.request_id]
    assert (claim.outcome, claim.reason) == ("rejected", "already_claimed")


def test_a_revoked_assertion_is_held_no_more() -> None:
    stream = Stream()
    stream.apply(created())
    offer = offered("email")
    stream.apply(offer)
    award = awarded(offer)
    assert stream.apply(award).held_assertion_id("a@example.org") == award.assertion_id
    revoked = AssertionRevoked(
        assertion_id=award.assertion_id, badge_class_id=BADGE_ID, reason="mistake"
    )
    state = stream.apply(revoked)
    assert state.assertions[award.assertion_id].revoked
    assert not state.holds("a@example.org")


def test_reviewers_holder_notices_and_resends_are_kept() -> None:
    stream = Stream()
    stream.apply(created())
    invited = PeerReviewerInvited(badge_class_id=BADGE_ID, email="r@example.org")
    assert stream.apply(invited).peer_reviewers == {"r@example.org"}
    notice = HeldBadgeRequested(
        badge_class_id=BADGE_ID,
        issuer_id=ISSUER_ID,
        assertion_id=uuid.uuid4(),
        recipient_email="a@example.org",
        open_link_generation=1,
        badge_name="Knots",
        issuer_name="Riverside",
    )
    state = stream.apply(notice)
    assert state.open_link_history(1, "a@example.org", T0).holder_notified
    assert not state.open_link_history(2, "a@example.org", T0).holder_notified

    offer = offered("email")
    state = with_email_status(stream.apply(offer), offer.offer_id, "failed")
    stream.state = state
    assert state.offers[offer.offer_id].email_status == "failed"
    resend = OfferResendRequested(offer_id=offer.offer_id, badge_class_id=BADGE_ID)
    assert stream.apply(resend).offers[offer.offer_id].email_status == "resending"


def test_the_open_links_history_counts_what_it_gave_out() -> None:
    stream = Stream()
    stream.apply(created())
    waiting, claimed = offered("open_link"), offered("open_link", "c@example.org")
    stream.apply(waiting)
    stream.apply(claimed)
    stream.apply(offered("email", "m@example.org"))
    state = stream.apply(awarded(claimed))
    history = state.open_link_history(1, "a@example.org", T0)
    assert history.already_offered and history.taken == 2  # one claimed, one still open
    assert state.open_link_history(1, "a@example.org", T0 + timedelta(days=91)).taken == 1
    assert not state.open_link_history(1, "new@example.org", T0).already_offered


def test_a_retry_notice_never_takes_back_a_final_email_outcome() -> None:
    stream = Stream()
    stream.apply(created())
    offer = offered("email")
    state = stream.apply(offer)
    assert with_email_status(state, offer.offer_id, "retrying").offers[
        offer.offer_id
    ].email_status == ("retrying")
    sent = with_email_status(state, offer.offer_id, "sent")
    assert with_email_status(sent, offer.offer_id, "retrying").offers[
        offer.offer_id
    ].email_status == ("sent")


SAMPLES: dict[type[BadgeEvent], BadgeEvent] = {
    BadgeClassEdited: BadgeClassEdited(
        badge_class_id=BADGE_ID,
        name="N",
        description="",
        criteria_narrative="",
        image=IMAGE,
    ),
    OpenLinkRegenerated: OpenLinkRegenerated(badge_class_id=BADGE_ID, generation=2),
    BadgeIssuingClosed: BadgeIssuingClosed(badge_class_id=BADGE_ID),
    PeerReviewerInvited: PeerReviewerInvited(badge_class_id=BADGE_ID, email="r@example.org"),
    BadgeOffered: offered(),
    HeldBadgeRequested: HeldBadgeRequested(
        badge_class_id=BADGE_ID,
        issuer_id=ISSUER_ID,
        assertion_id=uuid.uuid4(),
        recipient_email="a@example.org",
        open_link_generation=1,
        badge_name="N",
        issuer_name="R",
    ),
    OfferResendRequested: OfferResendRequested(offer_id=uuid.uuid4(), badge_class_id=BADGE_ID),
    ClaimRequested: ClaimRequested(
        offer_id=uuid.uuid4(), badge_class_id=BADGE_ID, request_id=uuid.uuid4()
    ),
    BadgeAwarded: awarded(None),
    ClaimRejected: ClaimRejected(offer_id=uuid.uuid4(), request_id=uuid.uuid4(), reason="expired"),
    AssertionRevoked: AssertionRevoked(
        assertion_id=uuid.uuid4(), badge_class_id=BADGE_ID, reason="r"
    ),
    BulkIssueRequested: BulkIssueRequested(
        issue_id=uuid.uuid4(),
        badge_class_id=BADGE_ID,
        organisation_id=ISSUER_ID,
        organiser_id=uuid.uuid4(),
        idempotency_key="k",
        file=RecipientsFile(sha256="2" * 64, size=10),
        rows=1,
    ),
    BulkIssueFinished: BulkIssueFinished(issue_id=uuid.uuid4(), badge_class_id=BADGE_ID, offers=1),
}


def test_evolve_takes_every_event_the_badge_service_owns() -> None:
    owned = {BadgeClassCreated, *SAMPLES}
    assert owned == set(BadgeEvent.__subclasses__()), "an event of ours has no sample here"
    for event in SAMPLES.values():
        stream = Stream()
        stream.apply(created())
        stream.apply(event)  # raises for an event it does not know
    with pytest.raises(ValueError, match="does not exist"):
        Stream().apply(SAMPLES[BadgeAwarded])
