"""Evidence rules: who reviews a submission, feedback for a rejection, files judged by the
type their bytes show."""

from __future__ import annotations

import uuid

import pytest

from contracts.badge import EvidenceTask
from services.evidence.domain.quests import (
    FeedbackRequired,
    check_evidence,
    check_feedback,
    review_role_for,
)
from services.kernel.errors import BadRequest
from services.kernel.web.refusals import status_of

PHOTO = EvidenceTask(task_id=uuid.uuid4(), title="A photo", kind="file")


def test_peer_review_without_enough_reviewers_goes_to_the_organisers():
    assert review_role_for("peer", peers_available=0, approvals_needed=1) == "organiser"
    assert review_role_for("peer", peers_available=1, approvals_needed=2) == "organiser"
    assert review_role_for("peer", peers_available=2, approvals_needed=2) == "peer"
    assert review_role_for("organiser", peers_available=0, approvals_needed=1) == "organiser"
    assert review_role_for("self", peers_available=0, approvals_needed=1) == "self"


@pytest.mark.parametrize("feedback", ["", "   ", "\n\t"])
def test_asking_for_changes_needs_feedback(feedback: str):
    with pytest.raises(FeedbackRequired) as refused:
        check_feedback("reject", feedback)
    assert status_of(refused.value) == 422
    check_feedback("approve", "")
    check_feedback("reject", "Add a photo.")


def test_a_file_is_refused_by_the_type_its_bytes_show_with_the_limits_in_words():
    with pytest.raises(BadRequest, match=r"a Windows program.*PNG, JPEG or PDF"):
        check_evidence(PHOTO, None, None, ("photo.png", "application/x-msdownload", 100))
    with pytest.raises(BadRequest, match="a kind we cannot tell"):
        check_evidence(PHOTO, None, None, ("photo.png", "", 100))
    with pytest.raises(BadRequest, match="larger than 5 MB"):
        check_evidence(PHOTO, None, None, ("photo.png", "image/png", 5 * 1024 * 1024 + 1))
    check_evidence(PHOTO, None, None, ("photo.png", "image/png", 100))
