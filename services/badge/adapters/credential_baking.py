"""Bakes an Open Badges 3.0 credential into its badge image (OB 3.0 baking): an iTXt chunk
with keyword `openbadgecredential` in a PNG, an <openbadges:credential> element in an SVG;
and reads it back out, as a wallet or verifier does."""

from __future__ import annotations

import re

from services.badge.adapters.baking import _chunk, _chunks
from services.badge.adapters.images import PNG_SIGNATURE

PNG_KEYWORD = b"openbadgecredential"
SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"


def bake_png(png: bytes, credential_json: str) -> bytes:
    """The PNG with one uncompressed `openbadgecredential` iTXt chunk before IEND (an earlier
    one, of either version's keyword, replaced: one image carries one badge)."""
    text = PNG_KEYWORD + b"\x00\x00\x00\x00\x00" + credential_json.encode()
    kept = [
        (kind, body)
        for kind, body in _chunks(png)
        if not (
            kind == b"iTXt"
            and (body.startswith(PNG_KEYWORD + b"\x00") or body.startswith(b"openbadges\x00"))
        )
    ]
    return (
        PNG_SIGNATURE
        + b"".join(_chunk(kind, body) for kind, body in kept)
        + _chunk(b"iTXt", text)
        + _chunk(b"IEND", b"")
    )


def read_png(png: bytes) -> str | None:
    for kind, body in _chunks(png):
        if kind == b"iTXt" and body.startswith(PNG_KEYWORD + b"\x00"):
            # keyword, NUL, compression flag, method, language tag NUL, translated NUL, text
            rest = body[len(PNG_KEYWORD) + 3 :]
            _, _, rest = rest.partition(b"\x00")
            _, _, text = rest.partition(b"\x00")
            return text.decode()
    return None


def bake_svg(svg: bytes, credential_json: str) -> bytes:
    """The SVG with the credential as the CDATA of <openbadges:credential>, first in <svg>."""
    text = svg.decode()
    start = text.index("<svg")
    end = text.index(">", start)
    opening = text[start:end]
    self_closing = opening.endswith("/")
    opening = opening.rstrip("/").rstrip()
    if "xmlns:openbadges" not in opening:
        opening += f' xmlns:openbadges="{SVG_NAMESPACE}"'
    safe_json = credential_json.replace("]]>", "]]]]><![CDATA[>")
    element = f"<openbadges:credential><![CDATA[{safe_json}]]></openbadges:credential>"
    rest = "</svg>" + text[end + 1 :] if self_closing else text[end + 1 :]
    return (text[:start] + opening + ">" + element + rest).encode()


_SVG_CREDENTIAL = re.compile(
    r"<openbadges:credential[^>]*>(.*?)</openbadges:credential>", re.DOTALL
)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)


def read_svg(svg: bytes) -> str | None:
    found = _SVG_CREDENTIAL.search(svg.decode())
    if found is None:
        return None
    return "".join(_CDATA.findall(found.group(1))) or found.group(1)
