"""The claim link's QR code (issue 13 item 3: rendering an offer email was three quarters the
library choosing a mask): the notifier's faster drawing gives, byte for byte, the image
qrcode.make draws, for links of every length the versions between take."""

from __future__ import annotations

import io
import random
import string

import qrcode
from PIL import Image

from services.notifier import qr


def _library(link: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(link, box_size=6, border=2).save(out)
    return out.getvalue()


def test_the_qr_code_is_the_one_the_library_draws() -> None:
    chosen = random.Random(13)
    alphabet = string.ascii_letters + string.digits + "-_"
    links = [
        "https://badges.example.org/claim/p" + "".join(chosen.choices(alphabet, k=length))
        for length in (1, 43, 90)  # versions 3 to 8 (from 7 on, version information)
    ]
    for link in links:
        assert qr.png(link) == _library(link), link
    image = Image.open(io.BytesIO(qr.png(links[1])))
    assert image.mode == "1" and image.size[0] == image.size[1]
