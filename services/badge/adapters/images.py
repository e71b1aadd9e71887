"""Checks an uploaded badge image: a real PNG or a plain SVG, of sensible size, with nothing
active inside and nothing that loads from elsewhere. A PNG is stored as Pillow encodes it
again (pixels only: no trailing bytes, no text chunks), an SVG as uploaded once it passes."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, cast
from xml.etree import ElementTree as ET

import tinycss2
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
LOCAL_FRAGMENT = re.compile(r"^#[\w.-]+$")
# CSS functions that fetch what they name (besides url()), or run script in old browsers.
LOADING_FUNCTIONS = {
    "src",
    "image",
    "image-set",
    "-webkit-image-set",
    "cross-fade",
    "-webkit-cross-fade",
    "element",
    "-moz-element",
    "paint",
    "expression",
}


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
            if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                raise InvalidImage(
                    f"the image is {width}x{height} pixels; "
                    f"each side must be {MIN_SIDE} to {MAX_SIDE}"
                )
            clean = _encoded_again(image)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as error:
        if isinstance(error, InvalidImage):
            raise
        raise InvalidImage(f"the PNG file is damaged: {error}") from error
    if len(clean) > MAX_BYTES:
        raise InvalidImage(f"the image is larger than {MAX_BYTES // 1024} KiB once encoded")
    return CheckedImage(clean, "image/png")


def _encoded_again(image: Image.Image) -> bytes:
    """The pixels as a fresh PNG: whatever else the upload carried (bytes after IEND, text
    chunks, a baked assertion) is gone, and baking finds only chunks it can read."""
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")
    options: dict[str, object] = {}
    if "transparency" in image.info and image.mode in ("P", "L", "RGB"):
        options["transparency"] = image.info["transparency"]
    out = io.BytesIO()
    image.save(out, format="PNG", **options)
    return out.getvalue()


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
    # A pull parser reports processing instructions (an <?xml-stylesheet?> loads CSS from
    # anywhere), which a plain parse drops silently; the XML declaration is not one.
    parser: ET.XMLPullParser[Any] = ET.XMLPullParser(events=("start", "pi"))
    root: ET.Element | None = None
    try:
        parser.feed(data)
        parser.close()
        for read in parser.read_events():
            event, node = cast(tuple[str, Any], read)
            if event == "pi":
                raise InvalidImage("the SVG contains a processing instruction (<?...?>)")
            if root is None and isinstance(node, ET.Element):
                root = node
    except ET.ParseError as error:
        raise InvalidImage(f"the SVG is not well-formed XML: {error}") from error
    if root is None:
        raise InvalidImage("the SVG has no root element")
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
        if "javascript:" in lowered:
            raise InvalidImage("the SVG contains scripts or external references")
        if local == "href":
            if not LINK_TARGETS.match(value.strip()):
                raise InvalidImage("the SVG contains external references")
            continue
        # `style`, and presentation attributes such as `fill`, `filter` or `mask`, are CSS:
        # read as CSS reads them (escapes, comments, quotes), so no spelling slips past.
        problem = _css_problem(tinycss2.parse_component_value_list(value))
        if problem:
            raise InvalidImage(f"the SVG contains external references ({problem} in {local})")


def _css_problem(nodes: list[Any]) -> str | None:
    """What in these CSS values could load something from elsewhere; None when nothing can.
    Only url(#fragment), a reference inside the image itself, is allowed."""
    for node in nodes:
        if node.type == "url":
            if not LOCAL_FRAGMENT.match(node.value.strip()):
                return f"url({node.value})"
        elif node.type == "function":
            name = node.lower_name
            if name == "url":
                values = [arg for arg in node.arguments if arg.type != "whitespace"]
                local = (
                    len(values) == 1
                    and values[0].type == "string"
                    and LOCAL_FRAGMENT.match(values[0].value.strip())
                )
                if not local:
                    return "url()"
            elif name in LOADING_FUNCTIONS:
                return f"{name}()"
            inner = _css_problem(node.arguments)
            if inner:
                return inner
        elif node.type in ("() block", "[] block", "{} block"):
            inner = _css_problem(node.content)
            if inner:
                return inner
        elif node.type == "at-keyword":
            return f"@{node.lower_value}"
        elif node.type == "error":
            return "CSS that does not parse"
    return None
