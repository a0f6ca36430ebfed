"""A PNG grid of a dataset's own images, a few per class, for people to look at.

Pillow and NumPy only: the API process renders it without the library or torch.
The picture's size is bounded whatever the dataset: at most ``MAX_ROWS`` classes,
each image drawn in a tile of at most ``MAX_TILE`` pixels a side, and the names in
a column of at most ``MAX_LABEL_WIDTH`` pixels, a long name wrapped onto the lines
its row has room for.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Small images (digits are 8×8) are enlarged to at least this many pixels a side…
MIN_TILE = 48
#: …and large ones shrunk to at most this many.
MAX_TILE = 96
#: Classes drawn; a note in the last row says how many more there are.
MAX_ROWS = 64
#: The names' column: at least this wide, wider for long names up to ``MAX_LABEL_WIDTH``.
LABEL_WIDTH = 96
MAX_LABEL_WIDTH = 240
LINE_HEIGHT = 12
PAD = 2


def _rgb(images: np.ndarray) -> np.ndarray:
    """``(N,H,W)``, ``(N,H,W,1)`` or ``(N,H,W,3|4)`` uint8 as ``(N,H,W,3)``."""
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] == 1:
        return np.repeat(images, 3, axis=-1)
    return images[..., :3]


def tile_size(h: int, w: int) -> tuple[int, int]:
    """The drawn size of an ``h``×``w`` image: whole-number enlargement, or a shrink to fit."""
    side = max(h, w)
    scale = max(1, math.ceil(MIN_TILE / side)) if side < MIN_TILE else min(1.0, MAX_TILE / side)
    return max(1, round(h * scale)), max(1, round(w * scale))


def label_lines(name: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, width: int,
                max_lines: int) -> list[str]:
    """``name`` wrapped at spaces (within a word where it must) into lines of at most
    ``width`` pixels; past ``max_lines`` the last line ends with an ellipsis."""
    lines: list[str] = []
    line = ""
    for word in name.split(" "):
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:  # a word wider than the column is cut where it must be
            if line and font.getlength(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines = lines[:max_lines - 1] + [last + "…"]
    return lines


def class_grid(images: np.ndarray, labels: np.ndarray, classes: list[str],
               per_class: int) -> bytes:
    """The first ``per_class`` images of each class, a row per class, its name on the left."""
    th, tw = tile_size(*images.shape[1:3])
    shown = classes[:MAX_ROWS]
    more = len(classes) - len(shown)
    rows = len(shown) + (1 if more else 0)
    font = ImageFont.load_default()
    max_lines = max(1, th // LINE_HEIGHT)
    names = [label_lines(name, font, MAX_LABEL_WIDTH - 8, max_lines) for name in shown]
    widest = max((font.getlength(line) for lines in names for line in lines), default=0)
    label_width = max(LABEL_WIDTH, min(MAX_LABEL_WIDTH, int(np.ceil(widest)) + 8))
    width = label_width + per_class * (tw + PAD) + PAD
    height = rows * (th + PAD) + PAD
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for row, lines in enumerate(names):
        y = PAD + row * (th + PAD)
        top = y + (th - LINE_HEIGHT * len(lines)) // 2
        for i, line in enumerate(lines):
            draw.text((4, top + i * LINE_HEIGHT), line, fill="black", font=font)
        picks = np.flatnonzero(labels == row)[:per_class]
        for col, tile in enumerate(_rgb(images[picks])):
            img = Image.fromarray(np.ascontiguousarray(tile))
            resample = Image.Resampling.NEAREST if th >= tile.shape[0] else Image.Resampling.BOX
            canvas.paste(img.resize((tw, th), resample), (label_width + PAD + col * (tw + PAD), y))
    if more:
        draw.text((4, PAD + len(shown) * (th + PAD) + th // 2 - 6),
                  f"… and {more} more classes", fill="black", font=font)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()
