"""What makes a replay fast without changing its outcome: the decode of a record from its
bytes, the headers that say which decision an event answers, and the progress a rebuild
prints."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from contracts import Envelope, decode, new_envelope
from contracts.activity import OrganisationCreated
from services.kernel.handlers import Handlers
from services.kernel.progress import ReplayProgress
from services.kernel.unit_of_work import CAUSE_EVENTS, CAUSE_ID, cause_headers

SAMPLES = sorted((Path(__file__).parents[2] / "contracts" / "samples").glob("v*/*/*.json"))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: "/".join(p.parts[-3:]))
def test_decoding_with_the_type_header_gives_the_same_envelope(sample: Path) -> None:
    raw = sample.read_bytes()
    event_type = json.loads(raw)["event_type"]
    assert decode(raw, event_type) == decode(raw)


def test_a_header_naming_another_type_changes_nothing() -> None:
    raw = (SAMPLES[0]).read_bytes()
    assert decode(raw, "BadgeAwarded") == decode(raw)
    assert decode(raw, "NoSuchEvent") == decode(raw)


@pytest.mark.parametrize("version", [b"true", b"1.0", b'"1"'])
def test_a_version_that_is_not_an_integer_is_refused_on_both_paths(version: bytes) -> None:
    sample = next(p for p in SAMPLES if p.name == "OrganisationCreated.json")
    raw = sample.read_bytes().replace(b'"schema_version":1', b'"schema_version":' + version)
    for hint in (None, "OrganisationCreated"):
        with pytest.raises(ValueError, match=r"schema_version|invalid"):
            decode(raw, hint)


def _organisation() -> Envelope[OrganisationCreated]:
    org = uuid.uuid4()
    return new_envelope(
        OrganisationCreated(organisation_id=org, name="A", url="https://a.example", email="a@a"),
        stream_id=org,
        stream_version=1,
        actor="test",
    )


def test_cause_headers_count_a_causes_events_only_on_the_last_append() -> None:
    cause, other = uuid.uuid4(), uuid.uuid4()
    events = [_organisation() for _ in range(3)]
    answers = {events[0].event_id: cause, events[1].event_id: cause}
    final = cause_headers(list(events), dict(answers), final=True)
    assert final == {
        e.event_id: [(CAUSE_ID, str(cause).encode()), (CAUSE_EVENTS, b"2")] for e in events[:2]
    }
    early = cause_headers(events[:1], {events[0].event_id: other}, final=False)
    assert early == {events[0].event_id: [(CAUSE_ID, str(other).encode())]}


def test_projections_for_leaves_the_policies_out() -> None:
    async def projection(*_: object) -> None: ...
    async def policy(*_: object) -> None: ...

    handlers = (
        Handlers().project(OrganisationCreated, projection).react(OrganisationCreated, policy)
    )
    assert list(handlers.projections_for(OrganisationCreated)) == [projection]
    assert list(handlers.for_event(OrganisationCreated)) == [projection, policy]


def test_progress_says_rate_eta_and_each_partitions_position() -> None:
    lines: list[str] = []
    now = [100.0]
    progress = ReplayProgress("badge rebuild", lines.append, every=1.0, clock=lambda: now[0])
    a, b = TopicPartition("t.badge.events", 0), TopicPartition("t.badge.events", 1)
    progress.begin({a: 0, b: 10}, {a: 1_000, b: 1_010})
    now[0] = 100.5
    progress.reached(a, 500, 500)
    assert lines == []  # not a second yet
    now[0] = 102.0
    progress.reached(b, 510, 500)
    assert lines == [
        "badge rebuild: 1,000/2,000 records, 500/s, ETA 2 s; "
        "t.badge.events[0] 500/1,000 t.badge.events[1] 510/1,010"
    ]
    now[0] = 104.0
    progress.reached(a, 1_000, 500)
    progress.reached(b, 1_010, 500)
    progress.done()
    assert lines[-1].startswith("badge rebuild: 2,000 records in 4.0 s (500/s); ")
