"""Reads the recipients of a bulk issue (a JSON list or a CSV file) into valid rows and
rejected rows, each with its row number and the reason."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from services.badge.domain.model import normalise_email
from services.badge.service_layer import Recipient

MAX_ROWS = 10_000


@dataclass(frozen=True)
class Rejected:
    row: int
    value: str
    reason: str


class UnreadableRecipients(ValueError):
    """The whole upload is unusable (not a CSV, too many rows): nothing is issued."""


def valid_address(text: str) -> str:
    """The address as the badge service keeps it (`normalise_email`), if it is one.

    No DNS look-up: an address is judged by its form; bounces come back as failures. Raises
    EmailNotValidError, which says what is wrong with it.
    """
    checked = validate_email(normalise_email(text), check_deliverability=False)
    return normalise_email(checked.normalized)


def sort_recipients(values: list[tuple[int, str]]) -> tuple[list[Recipient], list[Rejected]]:
    accepted: list[Recipient] = []
    rejected: list[Rejected] = []
    first_row: dict[str, int] = {}
    for row, value in values:
        try:
            email = valid_address(value)
        except EmailNotValidError as error:
            rejected.append(Rejected(row, value[:320], str(error)))
            continue
        if email in first_row:
            rejected.append(Rejected(row, value, f"the same address as row {first_row[email]}"))
            continue
        first_row[email] = row
        accepted.append(Recipient(row, email))
    return accepted, rejected


def from_list(emails: list[str]) -> tuple[list[Recipient], list[Rejected]]:
    if len(emails) > MAX_ROWS:
        raise UnreadableRecipients(f"at most {MAX_ROWS} recipients per request")
    return sort_recipients([(index + 1, email) for index, email in enumerate(emails)])


def from_csv(data: bytes) -> tuple[list[Recipient], list[Rejected]]:
    """Rows are numbered as a spreadsheet shows them (a header row is row 1).

    The address is in the column headed `email` if there is one, else in the first column.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableRecipients(f"the CSV file is not UTF-8 text: {error}") from error
    if "\x00" in text:
        raise UnreadableRecipients("the file is not a CSV text file")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise UnreadableRecipients(f"the CSV file cannot be read: {error}") from error
    if not rows:
        raise UnreadableRecipients("the CSV file has no rows")
    header = [cell.strip().lower() for cell in rows[0]]
    column, first = (header.index("email"), 1) if "email" in header else (0, 0)
    values = [
        (number + 1, row[column] if column < len(row) else "")
        for number, row in enumerate(rows)
        if number >= first and any(cell.strip() for cell in row)
    ]
    if len(values) > MAX_ROWS:
        raise UnreadableRecipients(f"at most {MAX_ROWS} rows per file; this one has {len(values)}")
    return sort_recipients(values)
