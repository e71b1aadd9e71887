"""Events evolve, the log does not: every version ever written still decodes, by upcasting."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest

import contracts.envelope as envelope
from contracts import decode, encode, new_envelope, registry
from contracts.activity import ActivityImage, ActivityPublished, Place
from contracts.envelope import Event, upcaster, upcasters

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("v*/*/*.json"))


def _version_of(sample: Path) -> int:
    return int(sample.parts[-3].removeprefix("v"))


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: str(p.relative_to(SAMPLES)))
def test_every_sample_decodes_to_the_current_model_keeping_what_it_said(sample: Path):
    raw = sample.read_bytes()
    stored = json.loads(raw)
    model = registry()[sample.stem]
    assert (stored["event_type"], stored["schema_version"]) == (model.__name__, _version_of(sample))
    assert model.topic == sample.parts[-2]

    decoded = decode(raw)

    assert type(decoded.payload) is model
    assert decoded.schema_version == model.schema_version
    assert decoded.event_id == uuid.UUID(stored["event_id"])
    # Upcasting adds to what the event said, or renames; a field it keeps keeps its value.
    now = json.loads(encode(decoded))
    kept = {k: v for k, v in stored["payload"].items() if k in now["payload"]}
    assert now["payload"] | kept == now["payload"]
    assert {k: v for k, v in now.items() if k not in ("payload", "schema_version")} == {
        k: v for k, v in stored.items() if k not in ("payload", "schema_version")
    }
    if _version_of(sample) == model.schema_version:
        assert encode(decoded) == raw, "encode no longer writes what the sample holds"


def test_every_version_of_every_event_has_a_sample():
    """Changed or added an event? Add the envelope `encode` writes for it under
    contracts/samples/v<schema_version>/<topic>/<EventType>.json."""
    have = {(p.stem, _version_of(p)) for p in SAMPLE_FILES}
    wanted = {
        (name, version)
        for name, model in registry().items()
        for version in range(1, model.schema_version + 1)
    }
    assert wanted - have == set()
    assert have - wanted == set(), "a sample names an event type or version no model has"


def test_every_old_version_has_an_upcaster_to_the_next():
    wanted = {
        (name, version)
        for name, model in registry().items()
        for version in range(1, model.schema_version)
    }
    assert set(upcasters()) == wanted


def test_activities_gained_dates_and_a_place_in_version_2():
    raw = (SAMPLES / "v1" / "activity.events" / "ActivityPublished.json").read_bytes()
    decoded = decode(raw)
    assert isinstance(decoded.payload, ActivityPublished)
    assert (decoded.payload.starts_at, decoded.payload.ends_at, decoded.payload.place) == (
        None,
        None,
        None,
    )
    old = json.loads(raw)["payload"]
    assert (
        json.loads(encode(decoded))["payload"]
        == old
        | {
            "starts_at": None,
            "ends_at": None,
            "place": None,
        }
        | V3_DEFAULTS
    )
    # The v2 shape on its own: every field is stated by the producer, none is defaulted.
    with pytest.raises(ValueError, match="starts_at"):
        decode(raw.replace(b'"schema_version":1', b'"schema_version":2'))


# What version 3 says of an activity written before it: not online, no language, picture or
# sign-up link.
V3_DEFAULTS = {"online": False, "language": None, "image": None, "signup_url": None}


def test_activities_gained_a_language_a_picture_a_sign_up_link_and_online_in_version_3():
    for version in (1, 2):
        raw = (SAMPLES / f"v{version}" / "activity.events" / "ActivityPublished.json").read_bytes()
        decoded = decode(raw)
        assert isinstance(decoded.payload, ActivityPublished)
        assert decoded.schema_version == 3
        payload = json.loads(encode(decoded))["payload"]
        assert {k: payload[k] for k in V3_DEFAULTS} == V3_DEFAULTS
        if version == 2:
            # Version 2's dates and place come through as they were.
            assert payload == json.loads(raw)["payload"] | V3_DEFAULTS
    current = decode(
        (SAMPLES / "v3" / "activity.events" / "ActivityPublished.json").read_bytes()
    ).payload
    assert isinstance(current, ActivityPublished)
    assert current.language == "en-GB"
    assert current.image is not None and current.image.url.startswith("https://")
    assert current.signup_url is not None and current.online is False


def _published(**overrides: Any) -> ActivityPublished:
    fields: dict[str, Any] = dict(
        activity_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        title="Planting day",
        description="",
        criteria="",
        starts_at=datetime(2027, 4, 17, 10, tzinfo=UTC),
        ends_at=datetime(2027, 4, 17, 16, tzinfo=UTC),
        place=Place(name="Community garden", latitude=53.8, longitude=-1.55),
    )
    return ActivityPublished(**(fields | overrides))


def test_an_activity_ends_no_earlier_than_it_starts_and_its_times_carry_a_zone():
    start = datetime(2027, 4, 17, 10, tzinfo=UTC)
    assert _published(ends_at=start, starts_at=start).ends_at == start
    assert _published(starts_at=None).ends_at is not None  # an end alone: a deadline
    with pytest.raises(ValueError, match="ends_at is before starts_at"):
        _published(starts_at=start, ends_at=start - timedelta(minutes=1))
    # The same instant written in another zone is not earlier.
    summer = timezone(timedelta(hours=2))
    assert _published(starts_at=start, ends_at=datetime(2027, 4, 17, 12, tzinfo=summer))
    with pytest.raises(ValueError, match="timezone"):
        _published(starts_at=datetime(2027, 4, 17, 10))  # naive: no zone
    # As the schema says: text, never a number read as seconds since 1970.
    for number in (0, 1_800_000_000, 1.5):
        with pytest.raises(ValueError, match="ISO 8601 text"):
            _published(starts_at=number)
    assert _published(starts_at="2027-04-17T10:00:00+02:00").starts_at == start - timedelta(hours=2)


@pytest.mark.parametrize(
    ("place", "problem"),
    [
        (dict(name="Hall", latitude=53.8), "together"),
        (dict(name="Hall", longitude=-1.5), "together"),
        (dict(name="Hall", latitude=90.5, longitude=0), "less than or equal to 90"),
        (dict(name="Hall", latitude=0, longitude=-180.5), "greater than or equal to -180"),
        (dict(name=""), "at least 1 character"),
        (dict(name="x" * 201), "at most 200 characters"),
        (dict(name="Hall", address="x" * 501), "at most 500 characters"),
        (dict(name="Hall", postcode="LS1"), "postcode"),
        (dict(name="Hall", latitude="53.8", longitude=0), "valid number"),
        (dict(name="Hall", latitude=True, longitude=0), "valid number"),
    ],
)
def test_a_place_is_named_and_its_point_is_on_the_globe(place: dict[str, Any], problem: str):
    with pytest.raises(ValueError, match=problem):
        Place(**place)


def test_a_place_may_be_just_a_name_or_a_full_point():
    assert Place(name="Online").latitude is None
    full = Place(name="Hall", address="1 Main St", latitude=-90, longitude=180)
    assert (full.latitude, full.longitude) == (-90, 180)


# -- the upcaster chain, on an event of its own (registered only for these tests) -------------


class LessonBooked(Event):
    """Version 1 had `room`; version 2 renamed it `place_name`; version 3 added `seats`."""

    schema_version: ClassVar[int] = 3
    topic: ClassVar[str] = "lessons.events"
    place_name: str
    seats: int | None


@pytest.fixture
def lessons(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """LessonBooked and its two steps registered; the real registries are restored after."""
    monkeypatch.setattr(envelope, "_REGISTRY", {**envelope._REGISTRY, "LessonBooked": LessonBooked})
    monkeypatch.setattr(envelope, "_UPCASTERS", dict(envelope._UPCASTERS))
    steps: list[str] = []

    @upcaster(LessonBooked, from_version=1)
    def upcast_lesson_booked_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
        # "room" read as a room number; it was always a place's name.
        steps.append("v1->v2")
        return {"place_name": payload["room"]}

    @upcaster(LessonBooked, from_version=2)
    def upcast_lesson_booked_v2_v3(payload: dict[str, Any]) -> dict[str, Any]:
        # Seats were not counted before version 3.
        steps.append("v2->v3")
        return {**payload, "seats": None}

    return steps


def _stored(version: int, payload: dict[str, Any]) -> bytes:
    current = new_envelope(
        LessonBooked(place_name="-", seats=None),
        stream_id=uuid.uuid4(),
        stream_version=1,
        actor="test",
    )
    document = json.loads(encode(current))
    document["schema_version"] = version
    document["payload"] = payload
    return json.dumps(document).encode()


def test_a_v1_event_is_upcast_through_every_step_in_order(lessons: list[str]):
    decoded = decode(_stored(1, {"room": "Garden shed"}))
    assert decoded.payload == LessonBooked(place_name="Garden shed", seats=None)
    assert decoded.schema_version == 3
    assert lessons == ["v1->v2", "v2->v3"]


def test_a_v2_event_takes_only_the_steps_after_it(lessons: list[str]):
    decoded = decode(_stored(2, {"place_name": "Hall"}))
    assert decoded.payload == LessonBooked(place_name="Hall", seats=None)
    assert lessons == ["v2->v3"]


def test_a_current_event_takes_no_step(lessons: list[str]):
    assert decode(_stored(3, {"place_name": "Hall", "seats": 12})).payload.seats == 12  # type: ignore[attr-defined]
    assert lessons == []


def test_versions_the_code_cannot_read_are_refused_for_the_dead_letter_topic(lessons: list[str]):
    with pytest.raises(ValueError, match="schema_version 4 is not 3 \\(newer\\)"):
        decode(_stored(4, {"place_name": "Hall", "seats": 1}))
    with pytest.raises(ValueError, match="schema_version 0 is not 3 \\(no upcaster from 0\\)"):
        decode(_stored(0, {"room": "Hall"}))
    for version in (True, 1.0, "1", None):
        with pytest.raises(ValueError, match="is not a version"):
            decode(_stored(version, {"room": "Hall"}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not upcast: KeyError"):
        decode(_stored(1, {"hall": "misspelt"}))
    with pytest.raises(ValueError, match="payload must be a JSON object"):
        decode(_stored(1, ["Hall"]))  # type: ignore[arg-type]
    # What a step makes is validated like any payload.
    with pytest.raises(ValueError, match="place_name"):
        decode(_stored(1, {"room": 7}))


def test_a_missing_step_is_refused(lessons: list[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delitem(envelope._UPCASTERS, ("LessonBooked", 2))
    with pytest.raises(ValueError, match="schema_version 2 is not 3 \\(no upcaster from 2\\)"):
        decode(_stored(1, {"room": "Hall"}))


def test_steps_are_registered_once_and_only_below_the_current_version(lessons: list[str]):
    def step(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    with pytest.raises(ValueError, match="already has an upcaster from 1"):
        upcaster(LessonBooked, from_version=1)(step)
    for version in (0, 3):
        with pytest.raises(ValueError, match=f"no step from {version}"):
            upcaster(LessonBooked, from_version=version)(step)


# -- version 3: language, picture, sign-up link, online ---------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("en", "en"),
        ("EN-gb", "en-GB"),
        ("cy", "cy"),
        ("pt-br", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("de-CH-1996", "de-CH-1996"),
    ],
)
def test_a_language_is_a_bcp_47_tag_kept_in_its_standard_case(given: str, kept: str):
    assert _published(language=given).language == kept


@pytest.mark.parametrize("tag", ["english", "e", "en_GB", "en-", "x-klingon", "en-GB-x-priv", ""])
def test_a_language_that_is_no_tag_is_refused_saying_what_a_tag_is(tag: str):
    with pytest.raises(ValueError, match=r"BCP 47 tag|at least 2 characters"):
        _published(language=tag)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("javascript:alert(1)", "must start with https:// or http://"),
        ("ftp://example.org/form", "must start with https:// or http://"),
        ("//example.org/form", "must start with"),
        ("https://", "no host name"),
        ("https://user:pw@example.org/", "user name or password"),
        ("https://example.org/a form", "no spaces"),
        ("https://example.org/" + "a" * 2_000, "at most 2000 characters"),
    ],
)
def test_a_sign_up_link_is_a_web_address(url: str, problem: str):
    with pytest.raises(ValueError, match=problem):
        _published(signup_url=url)


def test_a_sign_up_link_may_be_http_but_a_picture_is_https_with_its_text():
    assert _published(signup_url="http://example.org/book").signup_url == "http://example.org/book"
    image = ActivityImage(url="https://example.org/a.jpg", alt="Seedlings in a tray")
    assert _published(image=image).image == image
    with pytest.raises(ValueError, match="must start with https://"):
        ActivityImage(url="http://example.org/a.jpg", alt="Seedlings")
    with pytest.raises(ValueError, match="at least 1 character"):
        ActivityImage(url="https://example.org/a.jpg", alt="")
    with pytest.raises(ValueError, match="must start with https://"):
        ActivityImage(url="data:image/png;base64,AAAA", alt="Seedlings")


def test_an_activity_is_online_or_at_a_place_never_both():
    assert _published(online=True, place=None).online is True
    assert _published(online=False).place is not None
    assert _published(online=False, place=None).place is None  # anywhere
    with pytest.raises(ValueError, match="an online activity has no place"):
        _published(online=True)
    with pytest.raises(ValueError, match="valid boolean"):
        _published(online="sometimes")
