"""The claim link's QR code as a PNG: the very image `qrcode.make(link, box_size=6, border=2)`
draws, made in a fraction of its time (it was three quarters of rendering an offer email).

The library lays the data out eight times, once per mask pattern, and scores each layout
module by module to choose the mask. Here the data is laid out once, each mask is applied to
whole rows at a time (a row is one integer, a bit per module), and the score is counted on
those integers with the library's rules (ISO/IEC 18004's penalties, as qrcode computes them):
the same mask comes out, so the same image.
"""

from __future__ import annotations

import functools
import io
import itertools
import re

import qrcode
from PIL import Image
from qrcode import util
from qrcode.main import copy_2d_array, precomputed_qr_blanks

BOX_SIZE = 6
BORDER = 2
_RUN = re.compile(r"0{5,}|1{5,}")
# Dark-light-dark-dark-dark-light-dark with four light modules after, or before (level 3).
_FINDER_LIKE = re.compile(r"(?=10111010000|00001011101)")


def png(link: str) -> bytes:
    code = qrcode.QRCode(box_size=BOX_SIZE, border=BORDER)
    code.add_data(link)
    code.best_fit(start=code.version)
    code.makeImpl(False, _best_mask(code))
    return _image(code.get_matrix())


def _rows(modules: list[list[bool | None]]) -> list[int]:
    """Each row as an integer: bit n is the module in column n (dark = 1)."""
    return [sum(1 << n for n, dark in enumerate(row) if dark) for row in modules]


def _text(line: int, count: int) -> str:
    """Column 0 first, as the library reads a row."""
    return format(line, f"0{count}b")[::-1]


def _penalty(rows: list[int], count: int) -> int:
    """qrcode.util.lost_point of the matrix these rows make."""
    across = [_text(line, count) for line in rows]
    texts = across + ["".join(column) for column in zip(*across, strict=True)]
    # Level 1: each run of five or more modules of one colour, in a row or a column.
    lost = sum(len(run) - 2 for text in texts for run in _RUN.findall(text))
    # Level 2: each 2x2 block of one colour.
    pairs = (1 << (count - 1)) - 1
    for top, bottom in itertools.pairwise(rows):
        across_top = ~(top ^ (top >> 1))
        across_bottom = ~(bottom ^ (bottom >> 1))
        down = ~(top ^ bottom)
        lost += 3 * (across_top & across_bottom & down & pairs).bit_count()
    # Level 3: each finder-like pattern, in a row or a column.
    lost += 40 * sum(len(_FINDER_LIKE.findall(text)) for text in texts)
    # Level 4: how far the share of dark modules is from half.
    dark = sum(row.bit_count() for row in rows)
    return lost + int(abs(float(dark) / (count**2) * 100 - 50) / 5) * 10


def _best_mask(code: qrcode.QRCode) -> int:
    """The mask qrcode's best_mask_pattern chooses (the first with the lowest penalty)."""
    count = code.version * 4 + 17
    code.makeImpl(True, 0)  # (which also keeps this version's blank in the library)
    laid_out = _rows(code.modules)
    data_cells, flips = _layout(code.version)
    best, lowest = 0, 0
    for pattern in range(8):
        rows = [
            line ^ (cells & (flips[0][r] ^ flips[pattern][r]))
            for r, (line, cells) in enumerate(zip(laid_out, data_cells, strict=True))
        ]
        lost = _penalty(rows, count)
        if pattern == 0 or lowest > lost:
            best, lowest = pattern, lost
    return best


@functools.cache
def _layout(version: int) -> tuple[list[int], list[list[int]]]:
    """Per row, the modules the data goes in (those no pattern fixes: type and version
    information are all light while masks are tried, whichever the mask); per mask pattern
    and row, the modules it turns over."""
    count = version * 4 + 17
    code = qrcode.QRCode(version=version)
    code.modules_count = count
    code.modules = copy_2d_array(precomputed_qr_blanks[version])
    code.setup_type_info(True, 0)
    if version >= 7:
        code.setup_type_number(True)
    cells = [sum(1 << n for n, cell in enumerate(row) if cell is None) for row in code.modules]
    flips = []
    for pattern in range(8):
        mask = util.mask_func(pattern)
        flips.append([sum(1 << c for c in range(count) if mask(r, c)) for r in range(count)])
    return cells, flips


def _image(matrix: list[list[bool]]) -> bytes:
    """The matrix (border included) as qrcode's default image draws it: one bit per pixel,
    BOX_SIZE pixels a module."""
    count = len(matrix)
    gray = bytes(0 if dark else 255 for row in matrix for dark in row)
    size = count * BOX_SIZE
    image = Image.frombytes("L", (count, count), gray).resize(
        (size, size), Image.Resampling.NEAREST
    )
    out = io.BytesIO()
    image.convert("1").save(out, format="PNG")
    return out.getvalue()
