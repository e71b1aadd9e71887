from __future__ import annotations

import io
import struct
import zlib
from xml.etree import ElementTree as ET

import pytest
from PIL import Image

from services.badge.adapters.baking import bake_png, bake_svg, read_baked_png
from services.badge.adapters.images import InvalidImage, check_image

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">{}</svg>'


def _png(side: int = 100) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )


def test_plain_png_and_svg_pass():
    assert check_image(_png()).media_type == "image/png"
    drawing = SVG.format('<circle r="40" cx="50" cy="50" fill="url(#g)"/><use href="#g"/>')
    assert check_image(drawing.encode()).media_type == "image/svg+xml"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_png(32), "each side"),
        (_png_claiming(20_000, 20_000), "decompression bomb"),
        (SVG.format("<script>alert(1)</script>").encode(), "<script>"),
        (
            SVG.format('<s:script xmlns:s="http://www.w3.org/2000/svg">x</s:script>').encode(),
            "<script>",
        ),
        (SVG.format('<rect onclick="alert(1)"/>').encode(), "event handler"),
        (
            SVG.format(
                '<animate attributeName="href" values="&#106;avascript:alert(1)"/>'
            ).encode(),
            "<animate>",
        ),
        (SVG.format('<a href="javascript:alert(1)"><rect/></a>').encode(), "<a>"),
        (SVG.format('<rect style="fill: url(https://evil.example/x)"/>').encode(), "external"),
        (SVG.format("<style>@import url(https://evil.example/x.css);</style>").encode(), "<style>"),
        (SVG.format('<image href="https://evil.example/x.png"/>').encode(), "external"),
        (SVG.format("<foreignObject><p>hi</p></foreignObject>").encode(), "<foreignObject>"),
        (b'<!DOCTYPE svg [<!ENTITY x "y">]>' + SVG.format("&x;").encode(), "DOCTYPE"),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?>' + SVG.format("").encode(), "UTF-8"),
        (b"GIF89a", "PNG or an SVG"),
    ],
)
def test_unsafe_or_broken_images_are_refused(data: bytes, problem: str):
    with pytest.raises(InvalidImage, match=problem):
        check_image(data)


def test_a_baked_png_carries_the_assertion():
    baked = bake_png(_png(), '{"id": "https://x/assertion"}')
    assert read_baked_png(baked) == '{"id": "https://x/assertion"}'
    assert Image.open(io.BytesIO(baked)).size == (100, 100)
    rebaked = bake_png(baked, '{"id": "other"}')
    assert read_baked_png(rebaked) == '{"id": "other"}'


def test_a_baked_svg_stays_well_formed_even_with_a_self_closing_root():
    for svg in (SVG.format("<circle r='4'/>"), '<svg xmlns="http://www.w3.org/2000/svg"/>'):
        baked = bake_svg(svg.encode(), "https://x/a", '{"a": "]]>"}')
        root = ET.fromstring(baked)
        assertion = root.find("{http://openbadges.org}assertion")
        assert assertion is not None and assertion.get("verify") == "https://x/a"
        assert assertion.text == '{"a": "]]>"}'
