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

# What a browser may open in place: images, PDF and plain text, each under a sandboxing policy
# and `nosniff`, so none of them runs anything. Every other type is only ever a download.
SHOWN_INLINE = frozenset(EXTENSIONS)

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


@dataclass(frozen=True)
class ServedFile:
    """How a stored file is handed to a browser: the type it is served as, and whether it
    may be opened in place."""

    content_type: str
    inline: bool


def served_as(media_type: str) -> ServedFile:
    """A type a browser shows harmlessly keeps its own (text as UTF-8); anything else is
    served as bytes to save, so no browser renders or runs it."""
    if media_type in SHOWN_INLINE:
        charset = "; charset=utf-8" if media_type == "text/plain" else ""
        return ServedFile(media_type + charset, True)
    return ServedFile("application/octet-stream", False)


def content_disposition(name: str, inline: bool = False) -> str:
    """RFC 6266 with RFC 5987's `filename*` for any name, and an ASCII `filename` for
    clients that know only that."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", fallback).strip() or "evidence"
    if fallback.startswith("."):
        fallback = "evidence" + fallback
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
