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


def _with_trailing_bytes_and_text(png: bytes) -> bytes:
    """A valid PNG with a text chunk before IEND and junk after it."""
    end = png.rindex(b"IEND") - 4
    text = b"tEXt" + b"Comment\x00hello"
    chunk = struct.pack(">I", len(text) - 4) + text + struct.pack(">I", zlib.crc32(text))
    return png[:end] + chunk + png[end:] + b"\x00\x01trailing bytes after IEND"


def test_an_uploaded_png_is_stored_encoded_again_with_nothing_after_iend():
    original = _png(120)
    dirty = _with_trailing_bytes_and_text(original)
    checked = check_image(dirty)
    assert checked.data.endswith(b"IEND\xaeB`\x82")
    assert b"trailing bytes" not in checked.data and b"Comment" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.size == (120, 120) and image.getpixel((5, 5)) == (1, 2, 3)
    # Baking the clean image works, and so does baking one stored before (with the junk).
    for stored in (checked.data, dirty):
        baked = bake_png(stored, '{"id": "x"}')
        assert read_baked_png(baked) == '{"id": "x"}'
        with Image.open(io.BytesIO(baked)) as image:
            image.verify()


def test_a_transparent_palette_png_keeps_its_transparency():
    out = io.BytesIO()
    Image.new("RGBA", (80, 80), (0, 0, 0, 0)).convert("P").save(out, format="PNG", transparency=0)
    checked = check_image(out.getvalue())
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.info.get("transparency") == 0


@pytest.mark.parametrize(
    "svg",
    [
        SVG.format('<rect style="fill: url(#g); stroke: url(https://evil.example/x)"/>'),
        SVG.format('<rect filter="url(#a) url(https://evil.example/f.svg#x)"/>'),
        SVG.format('<rect style="fill: u\\72l(https://evil.example/x)"/>'),
        SVG.format("<rect style=\"fill: url( 'https://evil.example/x' )\"/>"),
        SVG.format('<rect style="fill:/**/url(//evil.example/x)"/>'),
        SVG.format("<rect style=\"background: image-set('https://evil.example/x.png' 1x)\"/>"),
        SVG.format('<rect mask="url(other.svg#m)"/>'),
        SVG.format("<rect style=\"@import 'https://evil.example/x.css'\"/>"),
    ],
)
def test_every_external_reference_in_css_values_is_refused(svg: str):
    with pytest.raises(InvalidImage, match="external references"):
        check_image(svg.encode())


@pytest.mark.parametrize(
    "svg",
    [
        '<?xml version="1.0"?><?xml-stylesheet href="https://evil.example/x.css"?>'
        + SVG.format(""),
        SVG.format("<?php echo 1; ?>"),
    ],
)
def test_processing_instructions_are_refused(svg: str):
    with pytest.raises(InvalidImage, match="processing instruction"):
        check_image(svg.encode())


def test_local_references_in_css_values_pass():
    drawing = SVG.format(
        '<rect style="fill: url(#g); stroke: url(\'#h\')" filter="url(#f)" mask="url(#m)"/>'
    )
    assert check_image(('<?xml version="1.0" encoding="UTF-8"?>' + drawing).encode())
