"""A PNG grid of a dataset's own images, a few per class, for people to look at.

Pillow and NumPy only: the API process renders it without the library or torch.
The picture's size is bounded whatever the dataset: at most ``MAX_ROWS`` classes,
and each image drawn in a tile of at most ``MAX_TILE`` pixels a side.
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
LABEL_WIDTH = 96
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


def class_grid(images: np.ndarray, labels: np.ndarray, classes: list[str],
               per_class: int) -> bytes:
    """The first ``per_class`` images of each class, a row per class, its name on the left."""
    th, tw = tile_size(*images.shape[1:3])
    shown = classes[:MAX_ROWS]
    more = len(classes) - len(shown)
    rows = len(shown) + (1 if more else 0)
    width = LABEL_WIDTH + per_class * (tw + PAD) + PAD
    height = rows * (th + PAD) + PAD
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for row, name in enumerate(shown):
        y = PAD + row * (th + PAD)
        label = name if len(name) <= 14 else name[:13] + "…"
        draw.text((4, y + th // 2 - 6), label, fill="black", font=font)
        picks = np.flatnonzero(labels == row)[:per_class]
        for col, tile in enumerate(_rgb(images[picks])):
            img = Image.fromarray(np.ascontiguousarray(tile))
            resample = Image.Resampling.NEAREST if th >= tile.shape[0] else Image.Resampling.BOX
            canvas.paste(img.resize((tw, th), resample), (LABEL_WIDTH + PAD + col * (tw + PAD), y))
    if more:
        draw.text((4, PAD + len(shown) * (th + PAD) + th // 2 - 6),
                  f"… and {more} more classes", fill="black", font=font)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()
