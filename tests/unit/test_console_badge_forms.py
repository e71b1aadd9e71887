"""The console's badge form read into the badge service's PATCH, each problem named beside its
field; pasted addresses split; a bulk issue's progress counted."""

from __future__ import annotations

from starlette.datastructures import FormData

from services.console.pages.badges import _field_of, form_of, read_form, split_addresses
from services.console.pages.issuing import _progress_of

TASK_ID = "7d4f8a52-3c1e-4d43-9a3e-1b2c3d4e5f60"


def _form(**fields: str) -> FormData:
    base = {
        "name": "Urban gardening",
        "description": "Grow food",
        "criteria": "Plant three seeds",
        "expires_after_days": "",
        "evidence_mode": "none",
        "peer_approvals": "1",
        "task_count": "0",
    }
    return FormData({**base, **fields})


def test_a_plain_form_becomes_the_patch_with_no_expiry_and_the_link_off():
    form, changes, prefixes = read_form(_form(), "activity")
    assert not form.errors
    assert changes == {
        "name": "Urban gardening",
        "description": "Grow food",
        "criteria": "Plant three seeds",
        "expires_after_days": None,
        "evidence_mode": "none",
        "peer_approvals": 1,
        "tasks": [],
        "open_link": {"enabled": False},
    }
    assert prefixes == []
    # A blank task waits to be filled in.
    assert form.tasks[-1]["task_id"] == "" and form.tasks[-1]["title"] == ""


def test_every_bad_field_is_named_beside_it():
    form, _, _ = read_form(
        _form(
            name="",
            expires_after_days="forever",
            peer_approvals="11",
            evidence_mode="magic",
            open_link_max_claims="-3",
            open_link_valid_until="next week",
        ),
        "activity",
    )
    assert form.errors == {
        "name": "Enter the badge's name.",
        "expires_after_days": "Enter a whole number.",
        "peer_approvals": "Enter a number from 1 to 10.",
        "evidence_mode": "Choose how evidence is approved.",
        "open_link_max_claims": "Enter a number from 1 to 1000000.",
        "open_link_valid_until": "Enter a date and time.",
    }
    # What was typed is kept to be corrected.
    assert form.values["expires_after_days"] == "forever"


def test_tasks_are_kept_removed_or_added_and_evidence_needs_one():
    fields = {
        "evidence_mode": "self",
        "task_count": "3",
        "task-0-id": TASK_ID,
        "task-0-title": "A photo",
        "task-0-kind": "file",
        "task-0-max_chars": "5000",
        "task-0-max_bytes": "1000",
        "task-0-media_types": "image/png, image/jpeg",
        "task-1-id": "9d4f8a52-3c1e-4d43-9a3e-1b2c3d4e5f60",
        "task-1-title": "Gone",
        "task-1-kind": "text",
        "task-1-max_chars": "10",
        "task-1-max_bytes": "10",
        "task-1-remove": "on",
        "task-2-title": "What you learnt",
        "task-2-kind": "text",
        "task-2-max_chars": "500",
        "task-2-max_bytes": "10",
    }
    form, changes, prefixes = read_form(_form(**fields), "playlist")
    assert not form.errors
    assert [t["title"] for t in changes["tasks"]] == ["A photo", "What you learnt"]
    assert changes["tasks"][0]["task_id"] == TASK_ID
    assert changes["tasks"][0]["media_types"] == ["image/png", "image/jpeg"]
    assert "task_id" not in changes["tasks"][1]
    assert prefixes == ["task-0-", "task-2-"]
    assert "open_link" not in changes  # a playlist's badge has no link to set

    none, _, _ = read_form(_form(evidence_mode="peer"), "activity")
    assert none.errors == {"task-new": "A badge that asks for evidence needs at least one task."}

    untitled, _, _ = read_form(
        _form(**{**fields, "task-0-title": "", "task-2-max_chars": "lots"}), "activity"
    )
    assert untitled.errors == {
        "task-0-title": "Enter the task's title, or tick Remove.",
        "task-2-max_chars": "Enter a whole number.",
    }


def test_the_badge_services_word_on_a_field_finds_the_form_field():
    prefixes = ["task-0-", "task-2-"]
    assert _field_of("tasks.1.max_chars", prefixes) == "task-2-max_chars"
    assert _field_of("tasks.7", prefixes) == "task-new"
    assert _field_of("open_link.max_claims", prefixes) == "open_link_max_claims"
    assert _field_of("criteria_narrative", prefixes) == "criteria"
    assert _field_of("name", prefixes) == "name"


def test_the_form_shows_the_badge_as_it_is():
    badge = {
        "name": "Radio",
        "description": "On air",
        "criteria_narrative": "Host a show",
        "expires_after_days": None,
        "evidence_mode": "self",
        "peer_approvals": 2,
        "open_link": {"enabled": True, "max_claims": 30, "valid_until": "2027-05-01T09:30:00Z"},
        "tasks": [
            {
                "task_id": TASK_ID,
                "title": "A recording",
                "description": "",
                "kind": "file",
                "max_chars": 5000,
                "max_bytes": 1000,
                "media_types": ["audio/mpeg"],
            }
        ],
    }
    form = form_of(badge)
    assert form.values["expires_after_days"] == ""
    assert form.values["open_link_max_claims"] == "30"
    assert form.values["open_link_valid_until"] == "2027-05-01T09:30"
    assert [t["title"] for t in form.tasks] == ["A recording", ""]
    assert form.tasks[0]["media_types"] == "audio/mpeg"


def test_pasted_addresses_are_split_on_lines_commas_semicolons_and_spaces():
    pasted = "ana@example.org, ben@example.org\r\ncleo@example.org;dan@example.org  eve@x.org\n\n"
    assert split_addresses(pasted) == [
        "ana@example.org",
        "ben@example.org",
        "cleo@example.org",
        "dan@example.org",
        "eve@x.org",
    ]
    assert split_addresses(" \n ,; ") == []


def test_progress_counts_what_still_waits():
    progress = _progress_of({"offers": 10, "sent": 6, "failed": 1, "done": False, "claimed": 2})
    assert progress == {
        "offers": 10,
        "sent": 6,
        "failed": 1,
        "waiting": 3,
        "claimed": 2,
        "done": False,
    }


def test_progress_of_an_issue_still_worked_through_counts_its_rows_as_waiting():
    counts = {"offers": 250, "rows": 2_000, "sent": 100, "failed": 2, "done": False}
    progress = _progress_of({**counts, "error": None})
    assert (progress["rows"], progress["offers"], progress["waiting"]) == (2_000, 250, 1_898)
    assert progress["done"] is False and progress["error"] is None
    stopped = _progress_of({**counts, "error": "the badge is archived", "done": True})
    assert stopped["error"] == "the badge is archived" and stopped["done"] is True
