"""How a task's file limits are said to a person: "PNG, JPEG or PDF, up to 5 MB"."""

from __future__ import annotations

from collections.abc import Iterable

NAMES = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/heic": "HEIC",
    "application/pdf": "PDF",
    "text/plain": "plain text",
    "application/zip": "ZIP",
    "audio/mpeg": "MP3",
    "video/mp4": "MP4",
    "application/x-msdownload": "a Windows program",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (.docx)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (.xlsx)",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
}


def media_type_said(media_type: str) -> str:
    return NAMES.get(media_type, media_type)


def media_types_said(media_types: Iterable[str]) -> str:
    names = [media_type_said(t) for t in media_types]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def size_said(size: int) -> str:
    """Sizes in the units people read (1 MB = 1024 KB here, as the limits are set)."""
    mib, kib = 1024 * 1024, 1024
    if size >= mib:
        value = size / mib
        return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"
    if size >= kib:
        return f"{size // kib} KB"
    return f"{size} bytes"


def limits_said(media_types: Iterable[str], max_bytes: int) -> str:
    return f"{media_types_said(media_types)}, up to {size_said(max_bytes)}"


def accept_attribute(media_types: Iterable[str], extensions: dict[str, str]) -> str:
    """The file input's `accept`: the media types and their file name endings."""
    parts: list[str] = []
    for media_type in media_types:
        parts.append(media_type)
        if media_type in extensions:
            parts.append("." + extensions[media_type])
    return ",".join(parts)
