"""Checks an uploaded badge image: a real PNG or a plain SVG, of sensible size, with nothing
active inside. What passes is stored as uploaded."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from PIL import Image, UnidentifiedImageError

MAX_BYTES = 512 * 1024
MIN_SIDE, MAX_SIDE = 64, 2048
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Anything that could run, load or reach out from an SVG a browser opens.
SVG_FORBIDDEN = re.compile(
    rb"<!DOCTYPE|<!ENTITY|<script|<foreignObject|\bon[a-z]+\s*=|javascript:|<iframe|<embed"
    rb"|<object|(?:xlink:)?href\s*=\s*[\"'](?!#|data:image/(?:png|jpeg);base64,)",
    re.IGNORECASE,
)


class InvalidImage(ValueError):
    pass


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    media_type: str


def check_image(data: bytes) -> CheckedImage:
    if not data:
        raise InvalidImage("the file is empty")
    if len(data) > MAX_BYTES:
        raise InvalidImage(f"the image is larger than {MAX_BYTES // 1024} KiB")
    if data.startswith(PNG_SIGNATURE):
        return _check_png(data)
    if b"<svg" in data[:4096]:
        return _check_svg(data)
    raise InvalidImage("the image must be a PNG or an SVG file")


def _check_png(data: bytes) -> CheckedImage:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidImage(f"the PNG file is damaged: {error}") from error
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise InvalidImage(
            f"the image is {width}x{height} pixels; each side must be {MIN_SIDE} to {MAX_SIDE}"
        )
    return CheckedImage(data, "image/png")


def _check_svg(data: bytes) -> CheckedImage:
    if SVG_FORBIDDEN.search(data):
        raise InvalidImage(
            "the SVG contains scripts, event handlers, entities or external references"
        )
    try:
        root = ET.fromstring(data)  # noqa: S314  (no DOCTYPE or entities: refused above)
    except ET.ParseError as error:
        raise InvalidImage(f"the SVG is not well-formed XML: {error}") from error
    if not root.tag.endswith("svg"):
        raise InvalidImage("the SVG's root element is not <svg>")
    return CheckedImage(data, "image/svg+xml")
