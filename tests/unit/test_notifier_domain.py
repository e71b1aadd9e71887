"""The notifier's rules and email state, pure: what an attempt ends in, which events are mailed,
what a resend leads to, and how each of the notifier's events changes an email."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from contracts import Envelope, new_envelope
from contracts.badge import OfferResendRequested, PeerReviewerInvited
from contracts.evidence import ReviewRequested
from contracts.notifier import EmailDeferred, EmailFailed, EmailResendRequested, EmailSent
from services.notifier.domain.attempts import (
    FIRST,
    Addressed,
    Attempt,
    Delivery,
    decide_attempt,
    decide_first_attempt,
    decide_missing_source,
)
from services.notifier.domain.email import (
    EmailState,
    Status,
    deferral_id,
    email_id,
    email_of,
    evolve,
    outcome_id,
)
from services.notifier.domain.requests import (
    FailedEmail,
    decide_mail,
    decide_offer_resend,
    decide_resend_failed,
    resend_request_id,
)
from services.notifier.domain.schedule import RetryPolicy

E = TypeVar("E", EmailSent, EmailFailed, EmailDeferred, EmailResendRequested)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    backoff=timedelta(seconds=5), backoff_max=timedelta(seconds=60), period=timedelta(hours=24)
)
OFFER = uuid.uuid4()
EMAIL = Addressed(
    kind="offer",
    recipient="ada@example.org",
    cause_event_id=uuid.uuid4(),
    source_event_id=uuid.uuid4(),
    offer_id=OFFER,
)

# -- ids ----------------------------------------------------------------------------------------


def test_an_offer_or_award_is_one_email_per_cause_a_review_request_one_per_reviewer() -> None:
    cause = uuid.uuid4()
    assert email_id(cause, "offer", "a@x.org") == email_id(cause, "offer", "b@x.org")
    assert email_id(cause, "award", "a@x.org") == email_id(cause, "award", "")
    review_a = email_id(cause, "review_requested", "a@x.org")
    assert review_a != email_id(cause, "review_requested", "b@x.org")
    assert review_a == email_id(cause, "review_requested", "a@x.org")  # derived, not random
    assert email_id(uuid.uuid4(), "offer", "a@x.org") != email_id(cause, "offer", "a@x.org")


def test_a_last_word_is_recorded_under_the_email_id_each_deferral_under_its_own() -> None:
    [sent] = decide_attempt(EMAIL, FIRST, Delivery(sent=True), "Hi", NOW, POLICY)
    [deferred] = decide_attempt(EMAIL, FIRST, Delivery(sent=False, error="451"), "Hi", NOW, POLICY)
    assert outcome_id(EMAIL.email_id, sent) == EMAIL.email_id
    assert outcome_id(EMAIL.email_id, deferred) == deferral_id(EMAIL.email_id, 1)
    assert deferral_id(EMAIL.email_id, 1) != deferral_id(EMAIL.email_id, 2)


# -- decide_attempt -----------------------------------------------------------------------------


def test_an_accepted_message_is_sent_with_its_attempt_count_and_subject() -> None:
    at = Attempt(number=3, failing_since=NOW - timedelta(minutes=5), stream_version=3)
    [outcome] = decide_attempt(EMAIL, at, Delivery(sent=True), "S" * 600, NOW, POLICY)
    assert isinstance(outcome, EmailSent)
    assert outcome.attempts == 3 and outcome.offer_id == OFFER and outcome.kind == "offer"
    assert outcome.subject == "S" * 500
    assert outcome.cause_event_id == EMAIL.cause_event_id


def test_a_permanent_refusal_fails_at_once_with_the_servers_words() -> None:
    refused = Delivery(sent=False, permanent=True, error="SMTPRecipientsRefused: 550 no such")
    [outcome] = decide_attempt(EMAIL, FIRST, refused, "Hi", NOW, POLICY)
    assert isinstance(outcome, EmailFailed)
    assert outcome.reason == "SMTPRecipientsRefused: 550 no such" and outcome.attempts == 1


def test_a_transient_failure_waits_in_the_schedule_with_the_backoff() -> None:
    away = Delivery(sent=False, error="ConnectionRefusedError: refused")
    [first] = decide_attempt(EMAIL, FIRST, away, "Hi", NOW, POLICY)
    assert isinstance(first, EmailDeferred)
    assert first.attempt == 1 and first.failing_since == NOW
    assert first.next_attempt_at == NOW + timedelta(seconds=5)
    assert first.email_id == EMAIL.email_id and first.source_event_id == EMAIL.source_event_id
    assert first.reason == "ConnectionRefusedError: refused"

    later = NOW + timedelta(minutes=1)
    at = Attempt(number=3, failing_since=NOW, stream_version=3)
    [third] = decide_attempt(EMAIL, at, away, "Hi", later, POLICY)
    assert isinstance(third, EmailDeferred)
    assert third.failing_since == NOW  # the period counts from the first failure
    assert third.next_attempt_at == later + timedelta(seconds=20)


def test_a_transient_failure_past_the_retry_period_fails_and_says_how_long_it_tried() -> None:
    at = Attempt(number=9, failing_since=NOW - timedelta(hours=24), stream_version=9)
    [outcome] = decide_attempt(EMAIL, at, Delivery(sent=False, error="451 later"), "", NOW, POLICY)
    assert isinstance(outcome, EmailFailed)
    assert outcome.attempts == 9
    assert outcome.reason == "451 later (still failing after 9 attempts over 24 h)"

    just_inside = Attempt(number=9, failing_since=NOW - timedelta(hours=23), stream_version=9)
    [waits] = decide_attempt(EMAIL, just_inside, Delivery(sent=False), "", NOW, POLICY)
    assert isinstance(waits, EmailDeferred)


def test_reasons_are_cut_to_what_the_event_holds() -> None:
    long_error = "x" * 3_000
    [deferred] = decide_attempt(
        EMAIL, FIRST, Delivery(sent=False, error=long_error), "", NOW, POLICY
    )
    assert isinstance(deferred, EmailDeferred) and len(deferred.reason) == 2_000
    permanent = Delivery(sent=False, permanent=True, error=long_error + "END")
    [failed] = decide_attempt(EMAIL, FIRST, permanent, "", NOW, POLICY)
    assert isinstance(failed, EmailFailed)
    assert len(failed.reason) == 2_000 and failed.reason.endswith("END")  # the end says most


# -- decide_first_attempt, decide_missing_source ------------------------------------------------


def _state(status: Status, attempts: int = 1) -> EmailState:
    return EmailState(
        email_id=EMAIL.email_id,
        kind="offer",
        recipient=EMAIL.recipient,
        cause_event_id=EMAIL.cause_event_id,
        offer_id=OFFER,
        status=status,
        attempts=attempts,
        version=attempts,
        source_event_id=EMAIL.source_event_id,
        failing_since=NOW,
    )


def test_an_email_is_mailed_at_once_only_when_nothing_is_known_of_it() -> None:
    assert decide_first_attempt(None)
    assert not decide_first_attempt(_state(Status.SENT))  # a redelivery, or a replay
    assert not decide_first_attempt(_state(Status.FAILED))
    assert not decide_first_attempt(_state(Status.RETRYING))  # the schedule has it


def test_a_retry_whose_source_is_missing_fails_saying_why() -> None:
    [failed] = decide_missing_source(_state(Status.RETRYING, attempts=4))
    assert failed.reason == "the event this email is composed from is missing"
    assert failed.attempts == 4 and failed.offer_id == OFFER and failed.kind == "offer"
    [resend] = decide_missing_source(_state(Status.RETRYING, attempts=0))
    assert resend.attempts == 1  # a resend not yet attempted: the event needs at least one


# -- decide_mail --------------------------------------------------------------------------------


def test_every_source_is_mailed_but_a_peer_reviewer_invited_again() -> None:
    invited = PeerReviewerInvited(badge_class_id=uuid.uuid4(), email="Rev@example.org")
    first, again = uuid.uuid4(), uuid.uuid4()
    assert decide_mail(invited, first, first_invitation=first)
    assert not decide_mail(invited, again, first_invitation=first)
    assert decide_mail(invited, first, first_invitation=None)
    review = ReviewRequested(
        submission_id=uuid.uuid4(),
        quest_id=uuid.uuid4(),
        role="peer",
        reviewers=("rev@example.org",),
        badge_name="Rivers",
        task_title="Map",
    )
    assert decide_mail(review, uuid.uuid4(), first_invitation=uuid.uuid4())


# -- decide_offer_resend ------------------------------------------------------------------------


def test_a_resend_of_a_known_offer_is_mailed_from_its_source_an_unknown_one_fails() -> None:
    request = OfferResendRequested(offer_id=OFFER, badge_class_id=uuid.uuid4())
    request_id = uuid.uuid4()
    assert decide_offer_resend(uuid.uuid4(), request_id, request) == []
    [failed] = decide_offer_resend(None, request_id, request)
    assert failed.offer_id == OFFER and failed.kind == "offer" and failed.attempts == 1
    assert failed.cause_event_id == request_id
    assert "does not know this offer's email" in failed.reason


# -- decide_resend_failed -----------------------------------------------------------------------


def _failed(source: uuid.UUID | None) -> FailedEmail:
    return FailedEmail(
        email_id=uuid.uuid4(),
        kind="review_requested",
        recipient="rev@example.org",
        offer_id=None,
        source_event_id=source,
        recorded_at=NOW,
    )


def test_the_operator_resend_asks_for_a_new_email_from_the_same_source_once() -> None:
    source = uuid.uuid4()
    failed = _failed(source)
    [asked] = decide_resend_failed(failed)
    assert asked.resend_of == failed.email_id and asked.source_event_id == source
    assert asked.requested_by == "operator" and asked.recipient == "rev@example.org"
    new_id = email_id(resend_request_id(failed.email_id), "review_requested", "rev@example.org")
    assert asked.email_id == new_id and asked.email_id != failed.email_id
    assert decide_resend_failed(failed) == [asked]  # however often the operator asks


def test_an_email_composed_from_nothing_kept_cannot_be_resent() -> None:
    assert decide_resend_failed(_failed(None)) == []


# -- evolve -------------------------------------------------------------------------------------


def _envelope(event: E, *, event_id: uuid.UUID, version: int, at: datetime = NOW) -> Envelope[E]:
    return new_envelope(
        event,
        event_id=event_id,
        stream_id=EMAIL.email_id,
        stream_version=version,
        occurred_at=at,
        actor="service:notifier",
    )


def _deferred(attempt: int) -> Envelope[EmailDeferred]:
    [event] = decide_attempt(
        EMAIL,
        Attempt(attempt, NOW if attempt > 1 else None, attempt),
        Delivery(sent=False, error=f"451 ({attempt})"),
        "",
        NOW,
        POLICY,
    )
    assert isinstance(event, EmailDeferred)
    return _envelope(event, event_id=deferral_id(EMAIL.email_id, attempt), version=attempt)


def _sent(attempts: int) -> Envelope[EmailSent]:
    at = Attempt(attempts, NOW, attempts)
    [event] = decide_attempt(EMAIL, at, Delivery(sent=True), "Your badge", NOW, POLICY)
    assert isinstance(event, EmailSent)
    return _envelope(event, event_id=EMAIL.email_id, version=attempts)


def _failed_record(attempts: int) -> Envelope[EmailFailed]:
    at = Attempt(attempts, NOW, attempts)
    refused = Delivery(sent=False, permanent=True, error="550 gone")
    [event] = decide_attempt(EMAIL, at, refused, "", NOW, POLICY)
    assert isinstance(event, EmailFailed)
    return _envelope(event, event_id=EMAIL.email_id, version=attempts)


def test_a_deferral_puts_the_email_in_the_schedule_and_each_later_one_moves_it_on() -> None:
    first = evolve(None, _deferred(1))
    assert first.status is Status.RETRYING and first.attempts == 1 and first.version == 1
    assert first.next_attempt_at == NOW + timedelta(seconds=5)
    assert first.source_event_id == EMAIL.source_event_id and first.detail == "451 (1)"
    assert email_of(_deferred(1)) == EMAIL.email_id

    second = evolve(first, _deferred(2))
    assert second.attempts == 2 and second.version == 2 and second.detail == "451 (2)"
    assert second.next_attempt_at == NOW + timedelta(seconds=10)
    assert second.failing_since == first.failing_since
    assert evolve(second, _deferred(1)) == second  # an earlier attempt changes nothing


def test_sent_is_the_last_word_and_keeps_what_the_schedule_knew() -> None:
    waiting = evolve(None, _deferred(1))
    sent = evolve(waiting, _sent(2))
    assert sent.status is Status.SENT and sent.recorded and sent.attempts == 2
    assert sent.detail == "Your badge" and sent.source_event_id == EMAIL.source_event_id
    assert sent.next_attempt_at is None
    assert email_of(_sent(2)) == EMAIL.email_id
    # A deferral met after the outcome (a log replayed with both) leaves it sent.
    assert evolve(sent, _deferred(3)) == sent
    assert evolve(sent, _failed_record(3)) == sent  # said once


def test_failed_is_the_last_word_with_its_reason() -> None:
    failed = evolve(None, _failed_record(1))
    assert failed.status is Status.FAILED and failed.recorded
    assert failed.detail == "550 gone" and failed.attempts == 1
    assert evolve(failed, _sent(2)) == failed


def test_a_resend_request_is_a_new_email_due_at_once() -> None:
    failed = _failed(EMAIL.source_event_id)
    [asked] = decide_resend_failed(failed)
    requested_at = NOW + timedelta(hours=30)
    request_id = resend_request_id(failed.email_id)
    envelope = _envelope(asked, event_id=request_id, version=1, at=requested_at)
    resend = evolve(None, envelope)
    assert email_of(envelope) == asked.email_id
    assert resend.email_id == asked.email_id and resend.resend_of == failed.email_id
    assert resend.status is Status.RETRYING and resend.attempts == 0
    assert resend.next_attempt_at == requested_at and resend.failing_since == requested_at
    assert resend.cause_event_id == request_id
    assert not decide_first_attempt(resend)  # the schedule sends it, not a first attempt
    assert Attempt.after(resend) == Attempt(1, requested_at, 2)
    assert evolve(resend, envelope) == resend
