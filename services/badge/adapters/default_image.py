"""Draws the default badge image: a coloured medal with the badge's initials.

Deterministic (same name and seed, same bytes), so a re-made decision stores the same blob.
"""

from __future__ import annotations

import functools
import hashlib
import io
import uuid

from PIL import Image, ImageDraw, ImageFont

SIZE = 256
PALETTE = (
    (0x1F, 0x6F, 0xB2),
    (0x2E, 0x8B, 0x57),
    (0xB2, 0x4C, 0x1F),
    (0x7A, 0x3E, 0xA8),
    (0xC2, 0x18, 0x5B),
    (0x00, 0x79, 0x6B),
    (0x5D, 0x40, 0x37),
    (0x3F, 0x51, 0xB5),
)


@functools.cache
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Loading the font costs more than drawing the badge: do it once per process.
    return ImageFont.load_default(size=88)


def initials(name: str) -> str:
    words = [word for word in name.split() if word[:1].isalnum()]
    letters = "".join(word[0] for word in words[:2]).upper()
    return letters or "★"


def render(name: str, seed: uuid.UUID) -> bytes:
    colour = PALETTE[hashlib.sha256(seed.bytes).digest()[0] % len(PALETTE)]
    return _medal(initials(name), colour)


# Few medals differ (initials x colours) and drawing one costs milliseconds: keep the recent ones.
@functools.lru_cache(maxsize=2048)
def _medal(letters: str, colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=(*colour, 255))
    draw.ellipse((24, 24, SIZE - 24, SIZE - 24), outline=(255, 255, 255, 220), width=6)
    font = _font()
    draw.text((SIZE / 2, SIZE / 2), letters, font=font, fill="white", anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
