from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from contracts import decode, derived_id, encode, new_envelope, registry
from contracts.__main__ import documents, render
from contracts.activity import ActivityPublished, OrganiserKeyIssued


def _published(**overrides: object) -> ActivityPublished:
    fields = dict(
        activity_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        title="Gardening",
        description="Grow food",
        criteria="Plant",
        starts_at=None,
        ends_at=None,
        place=None,
    )
    fields.update(overrides)
    return ActivityPublished(**fields)  # type: ignore[arg-type]


def test_an_event_survives_encoding_and_decoding_unchanged():
    envelope = new_envelope(_published(), stream_id=uuid.uuid4(), stream_version=1, actor="test")
    decoded = decode(encode(envelope))
    assert decoded == envelope
    assert isinstance(decoded.payload, ActivityPublished)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1]", "must be a JSON object"),
        (b'{"event_type": "Nope"}', "unknown event type 'Nope'"),
    ],
)
def test_undecodable_messages_raise_value_errors(raw: bytes, problem: str):
    with pytest.raises(ValueError, match=problem):
        decode(raw)


def test_unknown_fields_and_wrong_versions_are_refused():
    envelope = new_envelope(_published(), stream_id=uuid.uuid4(), stream_version=1, actor="test")
    document = json.loads(encode(envelope))
    document["payload"]["colour"] = "red"
    with pytest.raises(ValueError, match="colour"):
        decode(json.dumps(document).encode())
    document = json.loads(encode(envelope))
    current = ActivityPublished.schema_version
    document["schema_version"] = current + 1  # newer than this code knows
    with pytest.raises(ValueError, match=f"schema_version {current + 1} is not {current}"):
        decode(json.dumps(document).encode())


def test_events_are_frozen_and_validated():
    event = _published()
    with pytest.raises(ValueError):
        event.title = "changed"  # type: ignore[misc]
    with pytest.raises(ValueError):
        _published(title="")
    with pytest.raises(ValueError):
        OrganiserKeyIssued(
            organiser_id=uuid.uuid4(),
            organisation_id=uuid.uuid4(),
            key_id="abcdefabcdef",
            secret_sha256="not-a-hash",
        )


def test_derived_ids_are_deterministic_and_distinct_per_kind():
    cause = uuid.uuid4()
    assert derived_id(cause, "BadgeClassCreated") == derived_id(cause, "BadgeClassCreated")
    assert derived_id(cause, "BadgeClassCreated") != derived_id(cause, "EmailSent")
    assert derived_id(cause, "X") != derived_id(uuid.uuid4(), "X")


def test_every_event_is_named_in_the_past_tense_and_has_a_topic():
    for name, model in registry().items():
        assert model.topic.endswith(".events"), name
        assert name.endswith(("ed", "Sent", "Failed")), name


def test_committed_schemas_match_the_models():
    """Run `uv run python -m contracts export` after changing an event."""
    directory = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
    for name, document in documents().items():
        path = directory / name
        assert path.exists(), f"{name} is not exported"
        assert path.read_text() == render(document), f"{name} is out of date"
