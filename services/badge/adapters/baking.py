"""Bakes an Assertion into its badge image (Open Badges 2.0 baking): an `openbadges` iTXt
chunk in a PNG, an <openbadges:assertion> element in an SVG."""

from __future__ import annotations

import base64
import struct
import zlib

from services.badge.adapters.images import PNG_SIGNATURE


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks up to IEND. Bytes after it, or a chunk cut short, end the list: images
    stored before uploads were encoded again may carry either, and still bake."""
    chunks, at = [], len(PNG_SIGNATURE)
    while at + 12 <= len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        if kind == b"IEND" or at + 12 + length > len(png):
            break
        chunks.append((kind, png[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def bake_png(png: bytes, assertion_json: str) -> bytes:
    """The PNG with one `openbadges` iTXt chunk (any earlier one replaced) before IEND."""
    text = b"openbadges\x00\x00\x00\x00\x00" + assertion_json.encode()
    kept = [
        (kind, body)
        for kind, body in _chunks(png)
        if not (kind == b"iTXt" and body.startswith(b"openbadges\x00"))
    ]
    return (
        PNG_SIGNATURE
        + b"".join(_chunk(kind, body) for kind, body in kept)
        + _chunk(b"iTXt", text)
        + _chunk(b"IEND", b"")
    )


def read_baked_png(png: bytes) -> str | None:
    for kind, body in _chunks(png):
        if kind == b"iTXt" and body.startswith(b"openbadges\x00"):
            # keyword, NUL, compression flag, method, language tag NUL, translated NUL, text
            rest = body[len(b"openbadges\x00") + 2 :]
            _, _, rest = rest.partition(b"\x00")
            _, _, text = rest.partition(b"\x00")
            return text.decode()
    return None


def png_in_svg(png: bytes) -> bytes:
    """An SVG that shows the PNG at its own size, for those who keep badges as SVG."""
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    data = base64.b64encode(png).decode()
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" '
        f'href="data:image/png;base64,{data}"/></svg>'
    ).encode()


def bake_svg(svg: bytes, assertion_url: str, assertion_json: str) -> bytes:
    text = svg.decode()
    start = text.index("<svg")
    end = text.index(">", start)
    opening = text[start:end]
    self_closing = opening.endswith("/")
    opening = opening.rstrip("/").rstrip()
    if "xmlns:openbadges" not in opening:
        opening += ' xmlns:openbadges="http://openbadges.org"'
    safe_json = assertion_json.replace("]]>", "]]]]><![CDATA[>")
    element = (
        f'<openbadges:assertion verify="{assertion_url}"><![CDATA[{safe_json}]]>'
        "</openbadges:assertion>"
    )
    rest = "</svg>" + text[end + 1 :] if self_closing else text[end + 1 :]
    return (text[:start] + opening + ">" + element + rest).encode()
