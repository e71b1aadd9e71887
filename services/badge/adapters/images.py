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
# Refused before parsing: a DOCTYPE could declare entities (expansion bombs, external files).
SVG_NO_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
# Drawing only: nothing that runs, animates attributes, embeds HTML or loads other documents.
SVG_ELEMENTS = {
    "svg",
    "g",
    "path",
    "circle",
    "ellipse",
    "rect",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "defs",
    "linearGradient",
    "radialGradient",
    "stop",
    "title",
    "desc",
    "clipPath",
    "mask",
    "pattern",
    "use",
    "symbol",
    "image",
    "metadata",
}
LINK_TARGETS = re.compile(r"^(#[\w.-]+|data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]+)$")


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
            if width * height > MAX_SIDE * MAX_SIDE:
                raise InvalidImage(f"the image is {width}x{height} pixels; too large")
            image.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as error:
        raise InvalidImage(f"the PNG file is damaged: {error}") from error
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise InvalidImage(
            f"the image is {width}x{height} pixels; each side must be {MIN_SIDE} to {MAX_SIDE}"
        )
    return CheckedImage(data, "image/png")


def _check_svg(data: bytes) -> CheckedImage:
    if SVG_NO_DOCTYPE.search(data):
        raise InvalidImage("the SVG declares a DOCTYPE or entities")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidImage("the SVG must be UTF-8 text") from error
    declaration = re.match(r"<\?xml[^>]*encoding=[\"']([^\"']+)", text)
    if declaration and declaration.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise InvalidImage("the SVG must be UTF-8 text")
    try:
        root = ET.fromstring(data)  # noqa: S314  (no DOCTYPE or entities: refused above)
    except ET.ParseError as error:
        raise InvalidImage(f"the SVG is not well-formed XML: {error}") from error
    if root.tag != SVG_NAMESPACE + "svg":
        raise InvalidImage("the SVG's root element is not <svg> in the SVG namespace")
    for element in root.iter():
        _check_svg_element(element)
    return CheckedImage(data, "image/svg+xml")


def _check_svg_element(element: ET.Element) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if not tag.startswith(SVG_NAMESPACE) or tag[len(SVG_NAMESPACE) :] not in SVG_ELEMENTS:
        name = tag.rsplit("}", 1)[-1] or "?"
        raise InvalidImage(f"the SVG contains <{name}>, which badges may not use")
    for attribute, value in element.attrib.items():
        local = attribute.rsplit("}", 1)[-1].lower()
        lowered = re.sub(r"\s+", "", value).lower()
        if local.startswith("on"):
            raise InvalidImage("the SVG contains scripts (event handler attributes)")
        if "javascript:" in lowered or "@import" in lowered:
            raise InvalidImage("the SVG contains scripts or external references")
        if local == "href" and not LINK_TARGETS.match(value.strip()):
            raise InvalidImage("the SVG contains external references")
        if "url(" in lowered and not re.fullmatch(r".*url\(#[\w.-]+\).*", lowered):
            raise InvalidImage("the SVG contains external references")
