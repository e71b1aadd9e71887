"""Reading the console's HTML forms into the JSON the APIs take, and back: text fields as
typed, a date and time with its UTC offset, a place from its four fields. What cannot be read
is told per field, beside its control, and nothing is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# The offsets an organiser can pick for a date and time (datetime-local has no zone).
OFFSETS = tuple(
    f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    for minutes in range(-12 * 60, 14 * 60 + 1, 30)
)


class FormProblems(Exception):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def moment(value: str, offset: str, field: str, problems: dict[str, str]) -> str | None:
    """ISO 8601 with its zone from a datetime-local value and an offset; None if empty."""
    value = value.strip()
    if not value:
        return None
    if offset not in OFFSETS:
        problems[field] = "choose the time's offset from UTC"
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        problems[field] = "enter a date and time, like 2027-05-01 10:00"
        return None
    if local.tzinfo is not None:
        return local.isoformat()
    sign = 1 if offset[0] == "+" else -1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return local.replace(tzinfo=zone).isoformat()


def place(form: dict[str, str], problems: dict[str, str]) -> dict[str, Any] | None:
    name = form.get("place_name", "").strip()
    address = form.get("place_address", "").strip()
    latitude, longitude = form.get("latitude", "").strip(), form.get("longitude", "").strip()
    if not (name or address or latitude or longitude):
        return None
    if not name:
        problems["place.name"] = "give the place a name (or leave all its fields empty)"
    found: dict[str, Any] = {"name": name, "address": address or None}
    for field, text in (("latitude", latitude), ("longitude", longitude)):
        if not text:
            found[field] = None
            continue
        try:
            found[field] = float(text)
        except ValueError:
            problems[f"place.{field}"] = "enter a number, like 53.7997"
    return found


def as_input(value: str | None) -> str:
    """An API time (UTC) as a datetime-local value."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
