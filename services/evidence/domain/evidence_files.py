"""What an evidence file is: its type judged from its bytes (never from what the browser
declared), and its name: cleaned, ending as its type does, and safe in a download header."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

import filetype  # type: ignore[import-untyped]

# Enough of a file's start for every signature the sniffer knows.
HEAD_BYTES = 8192

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SniffedType:
    media_type: str
    extension: str


def sniff(head: bytes) -> SniffedType | None:
    """The file's type from its first bytes; None when it cannot be told."""
    kind = filetype.guess(head)
    if kind is not None:
        return SniffedType(kind.mime, EXTENSIONS.get(kind.mime, kind.extension))
    if head and _is_plain_text(head):
        return SniffedType("text/plain", "txt")
    return None


def _is_plain_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end inside a character; only a bad byte before that is not text.
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    return not any(ch not in "\t\r\n" and unicodedata.category(ch) == "Cc" for ch in text)


def clean_filename(name: str, extension: str) -> str:
    """The learner's file name as stored: NFC, no folders, no control characters, at most
    200 characters, ending in the extension of the type the bytes really are."""
    name = unicodedata.normalize("NFC", name)
    name = PureWindowsPath(PurePosixPath(name).name).name
    name = _CONTROL.sub("", name).strip().strip(".")
    stem = name.rsplit(".", 1)[0].strip() if "." in name else name
    stem = stem or "evidence"
    suffix = "." + extension
    return stem[: 200 - len(suffix)] + suffix


def content_disposition(name: str) -> str:
    """RFC 6266 with RFC 5987's `filename*` for any name, and an ASCII `filename` for
    clients that know only that."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", fallback).strip() or "evidence"
    if fallback.startswith("."):
        fallback = "evidence" + fallback
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
