"""Every rule of the badge service as a pure decision: claims, the open link, playlists,
quests, revocation, editing, resends, offers and ownership. No I/O, milliseconds."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import Envelope, derived_id, new_envelope
from contracts.badge import (
    AssertionRevoked,
    BadgeAwarded,
    BadgeClassCreated,
    BadgeOffered,
    BlobRef,
    ClaimRejected,
    ClaimRequested,
    EvidenceItem,
    EvidenceTask,
    HeldBadgeRequested,
    OpenLink,
    OpenLinkRegenerated,
)
from contracts.evidence import QuestCompleted
from services.badge.domain.model import (
    Assertion,
    BadgeClass,
    Holder,
    Offer,
    OpenLinkHistory,
    OpenLinkRefused,
    check_open_link,
    check_open_link_room,
    check_owner,
    decide_claim,
    decide_close_issuing,
    decide_new_playlist_awards,
    decide_offers,
    decide_open_link_request,
    decide_peer_invites,
    decide_playlist_award,
    decide_quest_award,
    decide_regenerate,
    decide_resend,
    decide_revocation,
    edit_badge,
    legacy_playlist_assertion_id,
    outcome_id,
    playlist_assertion_id,
    recipient_salt,
)
from services.kernel.errors import Conflict, Forbidden, NotFound

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
IMAGE = BlobRef(sha256="0" * 64, size=10, media_type="image/png")
TASK = EvidenceTask(task_id=uuid.uuid4(), title="Show it", kind="text")


def badge(**changes: Any) -> BadgeClass:
    found = BadgeClass(
        badge_class_id=uuid.uuid4(),
        issuer_id=uuid.uuid4(),
        source_kind="activity",
        source_id=uuid.uuid4(),
        name="Knots",
        description="Tie them.",
        criteria_narrative="Take part.",
        image=IMAGE,
        required_activity_ids=(),
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(found, **changes)


def playlist(*activities: uuid.UUID) -> BadgeClass:
    return badge(
        source_kind="playlist",
        required_activity_ids=activities,
        open_link=OpenLink(enabled=False),
    )


def offer(of: BadgeClass, **changes: Any) -> Offer:
    found = Offer(
        offer_id=uuid.uuid4(),
        badge_class_id=of.badge_class_id,
        recipient_email="learner@example.org",
        via="email",
        expires_at=NOW + timedelta(days=90),
    )
    return replace(found, **changes)


def open_offer(of: BadgeClass, generation: int = 1) -> Offer:
    return offer(of, via="open_link", open_link_generation=generation)


def request(of: BadgeClass, offered: Offer, at: datetime = NOW) -> Envelope[ClaimRequested]:
    claim = ClaimRequested(
        offer_id=offered.offer_id, badge_class_id=of.badge_class_id, request_id=uuid.uuid4()
    )
    return new_envelope(
        claim, stream_id=of.badge_class_id, stream_version=3, actor="learner", occurred_at=at
    )


# -- claims --------------------------------------------------------------------------------------


def test_a_claim_on_a_valid_offer_is_awarded_with_an_id_that_follows_from_the_request() -> None:
    knots = badge(expires_after_days=30)
    offered = offer(knots)
    claim = request(knots, offered)

    awarded = decide_claim(knots, offered, claim, False, "Riverside")

    assert isinstance(awarded, BadgeAwarded)
    assert awarded.assertion_id == outcome_id(claim)
    assert awarded.request_id == claim.payload.request_id
    assert awarded.offer_id == offered.offer_id and awarded.reason == "claim"
    assert awarded.recipient_email == "learner@example.org"
    assert awarded.recipient_salt == recipient_salt(awarded.assertion_id)
    assert awarded.issued_on == NOW and awarded.expires == NOW + timedelta(days=30)
    assert awarded.issuer_name == "Riverside" and awarded.badge_name == "Knots"
    assert decide_claim(knots, offered, claim, False, "Riverside") == awarded  # made again


def _refusal(of: BadgeClass, offered: Offer, held: bool = False, at: datetime = NOW) -> str:
    outcome = decide_claim(of, offered, request(of, offered, at), held, "Riverside")
    assert isinstance(outcome, ClaimRejected) and outcome.offer_id == offered.offer_id
    return outcome.reason


def test_every_reason_a_claim_is_rejected() -> None:
    knots = badge()
    assert _refusal(knots, offer(knots, assertion_id=uuid.uuid4())) == "already_claimed"
    assert _refusal(knots, offer(knots), held=True) == "already_claimed"
    assert _refusal(knots, offer(knots), at=NOW + timedelta(days=91)) == "expired"
    asks_evidence = badge(evidence_mode="self", tasks=(TASK,))
    assert _refusal(asks_evidence, offer(asks_evidence)) == "evidence_required"
    # Through the open link: turned off, regenerated, past its date, or out of claims.
    off = badge(open_link=OpenLink(enabled=False))
    assert _refusal(off, open_offer(off)) == "revoked"
    regenerated = badge(open_link_generation=2)
    assert _refusal(regenerated, open_offer(regenerated, generation=1)) == "revoked"
    dated = badge(open_link=OpenLink(valid_until=NOW - timedelta(minutes=1)))
    assert _refusal(dated, open_offer(dated)) == "expired"
    full = badge(open_link=OpenLink(max_claims=2), open_link_claims=2)
    assert _refusal(full, open_offer(full)) == "limit_reached"
    # A playlist's badge is never claimed through a link, whatever a log recorded.
    raw_playlist = replace(playlist(uuid.uuid4()), open_link=OpenLink(enabled=True))
    assert _refusal(raw_playlist, open_offer(raw_playlist)) == "revoked"


def test_an_offer_mailed_by_the_organiser_is_not_held_to_the_open_links_limits() -> None:
    full = badge(open_link=OpenLink(max_claims=1, enabled=False), open_link_claims=1)
    assert isinstance(
        decide_claim(full, offer(full), request(full, offer(full)), False, "R"), BadgeAwarded
    )
    one_left = badge(open_link=OpenLink(max_claims=2), open_link_claims=1)
    offered = open_offer(one_left)
    awarded = decide_claim(one_left, offered, request(one_left, offered), False, "R")
    assert isinstance(awarded, BadgeAwarded)


# -- the open link -------------------------------------------------------------------------------


def _open_link_refusal(of: BadgeClass, generation: int = 1, taken: int = 0) -> str:
    with pytest.raises(OpenLinkRefused) as refused:
        check_open_link(of, generation, NOW)
        check_open_link_room(of, taken)
    return refused.value.reason


def test_every_reason_the_open_link_gives_nothing() -> None:
    assert _open_link_refusal(badge(open_link=OpenLink(enabled=False))) == "revoked"
    assert _open_link_refusal(badge(open_link_generation=2), generation=1) == "revoked"
    late = badge(open_link=OpenLink(valid_until=NOW - timedelta(seconds=1)))
    assert _open_link_refusal(late) == "expired"
    assert _open_link_refusal(badge(open_link=OpenLink(max_claims=3)), taken=3) == "limit_reached"
    assert _open_link_refusal(playlist(uuid.uuid4())) == "earned_only"
    # Working: on, this generation, in time, room left.
    check_open_link(badge(open_link=OpenLink(valid_until=NOW + timedelta(days=1))), 1, NOW)
    check_open_link_room(badge(open_link=OpenLink(max_claims=3)), 2)


NOBODY = OpenLinkHistory(
    already_offered=False, taken=0, held_assertion_id=None, holder_notified=False
)


def _ask(
    of: BadgeClass, history: OpenLinkHistory = NOBODY, generation: int = 1
) -> list[BadgeOffered | HeldBadgeRequested]:
    return list(
        decide_open_link_request(
            of,
            history,
            generation=generation,
            email=" Learner@Example.org ",
            now=NOW,
            offer_id=uuid.UUID(int=7),
            issuer_name="Riverside",
        )
    )


def test_the_open_link_mails_a_personal_link_once_per_address() -> None:
    knots = badge()
    [offered] = _ask(knots)
    assert isinstance(offered, BadgeOffered) and offered.offer_id == uuid.UUID(int=7)
    assert offered.via == "open_link" and offered.open_link_generation == 1
    assert offered.recipient_email == "learner@example.org"
    assert _ask(knots, replace(NOBODY, already_offered=True)) == []


def test_a_holder_asking_the_open_link_is_told_they_hold_it_once() -> None:
    knots = badge()
    held = uuid.uuid4()
    [notice] = _ask(knots, replace(NOBODY, held_assertion_id=held))
    assert isinstance(notice, HeldBadgeRequested) and notice.assertion_id == held
    assert notice.recipient_email == "learner@example.org"
    assert _ask(knots, replace(NOBODY, held_assertion_id=held, holder_notified=True)) == []


def test_the_open_link_request_is_refused_by_the_link_rules() -> None:
    with pytest.raises(OpenLinkRefused, match="claimed as many times"):
        _ask(badge(open_link=OpenLink(max_claims=1)), replace(NOBODY, taken=1))
    with pytest.raises(OpenLinkRefused, match="no longer works"):
        _ask(badge(open_link_generation=3), generation=2)
    with pytest.raises(OpenLinkRefused, match="playlist"):
        _ask(playlist(uuid.uuid4()))


def test_regenerating_the_open_link_makes_the_next_generation() -> None:
    knots = badge(open_link_generation=4)
    assert decide_regenerate(knots) == [
        OpenLinkRegenerated(badge_class_id=knots.badge_class_id, generation=5)
    ]
    with pytest.raises(Conflict, match="playlist"):
        decide_regenerate(playlist(uuid.uuid4()))


# -- playlists -----------------------------------------------------------------------------------


def _cause(of: BadgeClass) -> Envelope[BadgeAwarded]:
    offered = offer(of)
    awarded = decide_claim(of, offered, request(of, offered), False, "R")
    assert isinstance(awarded, BadgeAwarded)
    return new_envelope(
        awarded,
        stream_id=of.badge_class_id,
        stream_version=4,
        actor="service:badge",
        causation_id=uuid.uuid4(),
    )


def test_a_playlist_is_awarded_once_its_last_activity_badge_is_held() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    sailing = playlist(first, second)
    cause = _cause(badge(source_id=second))
    holder = Holder("learner@example.org", frozenset({uuid.uuid4()}), frozenset({first, second}))

    [awarded] = decide_playlist_award(sailing, holder, cause, NOW, "Riverside")

    assert awarded.badge_class_id == sailing.badge_class_id and awarded.reason == "playlist"
    assert awarded.assertion_id == playlist_assertion_id(
        cause, sailing.badge_class_id, holder.email
    )
    assert awarded.assertion_id != legacy_playlist_assertion_id(
        sailing.badge_class_id, holder.email
    )
    assert awarded.offer_id is None and awarded.issued_on == NOW


def test_a_playlist_is_not_awarded_before_completion_nor_twice() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    sailing = playlist(first, second)
    cause = _cause(badge(source_id=first))
    halfway = Holder("learner@example.org", frozenset(), frozenset({first}))
    assert decide_playlist_award(sailing, halfway, cause, NOW, "R") == []
    holds_it = Holder(
        "learner@example.org", frozenset({sailing.badge_class_id}), frozenset({first, second})
    )
    assert decide_playlist_award(sailing, holds_it, cause, NOW, "R") == []  # award once
    empty = playlist()
    anyone = Holder("learner@example.org", frozenset(), frozenset({first}))
    assert decide_playlist_award(empty, anyone, cause, NOW, "R") == []


def test_a_new_playlist_badge_goes_to_each_holder_of_all_its_activities() -> None:
    sailing = playlist(uuid.uuid4())
    cause = new_envelope(
        _created_event(sailing), stream_id=sailing.badge_class_id, stream_version=1, actor="t"
    )
    awards = decide_new_playlist_awards(sailing, ["a@example.org", "b@example.org"], cause, "R")
    assert [a.recipient_email for a in awards] == ["a@example.org", "b@example.org"]
    assert all(a.reason == "playlist" and a.issued_on == cause.occurred_at for a in awards)
    assert decide_new_playlist_awards(badge(), ["a@example.org"], cause, "R") == []


def _created_event(of: BadgeClass) -> BadgeClassCreated:
    return BadgeClassCreated(
        badge_class_id=of.badge_class_id,
        issuer_id=of.issuer_id,
        source_kind=of.source_kind,
        source_id=of.source_id,
        name=of.name,
        description=of.description,
        criteria_narrative=of.criteria_narrative,
        image=of.image,
        required_activity_ids=of.required_activity_ids,
    )


# -- quests --------------------------------------------------------------------------------------


def _quest(of: BadgeClass, offered: Offer) -> Envelope[QuestCompleted]:
    completed = QuestCompleted(
        quest_id=uuid.uuid4(),
        badge_class_id=of.badge_class_id,
        offer_id=offered.offer_id,
        learner_email=offered.recipient_email,
        evidence=(EvidenceItem(narrative="A bowline", url="https://e.example/1"),),
    )
    return new_envelope(completed, stream_id=completed.quest_id, stream_version=5, actor="t")


def test_a_completed_quest_awards_its_offer_with_the_evidence() -> None:
    knots = badge(evidence_mode="self", tasks=(TASK,))
    offered = offer(knots)
    cause = _quest(knots, offered)
    [awarded] = decide_quest_award(knots, offered, cause, False, "Riverside")
    assert awarded.assertion_id == derived_id(cause.event_id, "BadgeAwarded")
    assert awarded.reason == "evidence" and awarded.offer_id == offered.offer_id
    assert awarded.evidence == cause.payload.evidence and awarded.issued_on == cause.occurred_at


def test_a_completed_quest_awards_nothing_to_an_offer_already_awarded_or_a_holder() -> None:
    knots = badge(evidence_mode="self", tasks=(TASK,))
    awarded_already = offer(knots, assertion_id=uuid.uuid4())
    assert (
        decide_quest_award(knots, awarded_already, _quest(knots, awarded_already), False, "R") == []
    )
    offered = offer(knots)
    assert decide_quest_award(knots, offered, _quest(knots, offered), True, "R") == []


# -- revocation ----------------------------------------------------------------------------------


def test_an_assertion_is_revoked_once() -> None:
    held = Assertion(uuid.uuid4(), uuid.uuid4(), "learner@example.org", revoked=False)
    assert decide_revocation(held, "issued by mistake") == [
        AssertionRevoked(
            assertion_id=held.assertion_id,
            badge_class_id=held.badge_class_id,
            reason="issued by mistake",
        )
    ]
    with pytest.raises(Conflict, match="already revoked"):
        decide_revocation(replace(held, revoked=True), "again")


# -- editing -------------------------------------------------------------------------------------


def test_editing_records_the_whole_settings_or_nothing_when_nothing_changes() -> None:
    knots = badge()
    assert edit_badge(knots, {}) is None
    assert edit_badge(knots, {"name": "Knots"}) is None
    edited = edit_badge(knots, {"name": "Knots and hitches", "expires_after_days": 365})
    assert edited is not None
    assert edited.name == "Knots and hitches" and edited.expires_after_days == 365
    assert edited.description == knots.description and edited.open_link == knots.open_link


def test_every_edit_that_is_refused() -> None:
    with pytest.raises(Conflict, match="earned"):
        edit_badge(playlist(uuid.uuid4()), {"open_link": OpenLink(enabled=True)})
    with pytest.raises(Conflict, match="at least one task"):
        edit_badge(badge(), {"evidence_mode": "peer"})
    with pytest.raises(Conflict, match="at least one task"):
        edit_badge(badge(evidence_mode="self", tasks=(TASK,)), {"tasks": ()})
    asks = edit_badge(badge(), {"evidence_mode": "organiser", "tasks": (TASK,)})
    assert asks is not None and asks.evidence_mode == "organiser"


# -- offers, resends, peers, ownership ------------------------------------------------------------


def test_offers_are_made_once_per_planned_id() -> None:
    knots = badge()
    made, planned = uuid.uuid4(), uuid.uuid4()
    offers = decide_offers(
        knots,
        [(made, "a@example.org"), (planned, " B@Example.org ")],
        {made},
        now=NOW,
        issuer_name="Riverside",
    )
    [offered] = offers
    assert offered.offer_id == planned and offered.recipient_email == "b@example.org"
    assert offered.via == "email" and offered.expires_at == NOW + timedelta(days=90)


def test_an_archived_playlists_badge_is_closed_once_and_offers_and_awards_nobody_new() -> None:
    first = uuid.uuid4()
    sailing = playlist(first)
    [closing] = decide_close_issuing(sailing)
    assert closing.badge_class_id == sailing.badge_class_id
    assert decide_close_issuing(None) == []  # archived before it was published: no badge
    closed = replace(sailing, issuing_closed_at=NOW)
    assert decide_close_issuing(closed) == []

    with pytest.raises(Conflict, match="no longer issued"):
        decide_offers(closed, [(uuid.uuid4(), "a@example.org")], set(), now=NOW, issuer_name="R")
    completed = Holder("learner@example.org", frozenset(), frozenset({first}))
    cause = _cause(badge(source_id=first))
    assert decide_playlist_award(sailing, completed, cause, NOW, "R") != []
    assert decide_playlist_award(closed, completed, cause, NOW, "R") == []


def test_only_a_failed_email_of_an_open_offer_is_sent_again() -> None:
    knots = badge()
    failed = offer(knots, email_status="failed")
    [resend] = decide_resend(failed, NOW)
    assert resend.offer_id == failed.offer_id and resend.badge_class_id == knots.badge_class_id
    with pytest.raises(Conflict, match="claimed already"):
        decide_resend(replace(failed, assertion_id=uuid.uuid4()), NOW)
    with pytest.raises(Conflict, match="expired"):
        decide_resend(failed, NOW + timedelta(days=90))
    for status in ("pending", "sent", "retrying", "resending"):
        with pytest.raises(Conflict, match=f"email is {status}"):
            decide_resend(replace(failed, email_status=status), NOW)  # type: ignore[arg-type]


def test_peer_reviewers_are_invited_one_event_each() -> None:
    knots = badge()
    invited = decide_peer_invites(knots, ["a@example.org", "b@example.org"])
    assert [i.email for i in invited] == ["a@example.org", "b@example.org"]


def test_an_organiser_acts_only_on_their_own_organisations_badges() -> None:
    knots = badge()
    assert check_owner(knots, knots.issuer_id) is knots
    with pytest.raises(Forbidden):
        check_owner(knots, uuid.uuid4())
    with pytest.raises(NotFound):
        check_owner(None, knots.issuer_id)
    with pytest.raises(Forbidden, match="this offer belongs"):
        check_owner(knots, uuid.uuid4(), what="offer")
