"""A PNG grid of a dataset's own images, a few per class, for people to look at.

Pillow and NumPy only: the API process renders it without the library or torch.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Small images (digits are 8×8) are enlarged to at least this many pixels a side.
MIN_TILE = 48
LABEL_WIDTH = 96
PAD = 2


def _rgb(images: np.ndarray) -> np.ndarray:
    """``(N,H,W)``, ``(N,H,W,1)`` or ``(N,H,W,3|4)`` uint8 as ``(N,H,W,3)``."""
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] == 1:
        return np.repeat(images, 3, axis=-1)
    return images[..., :3]


def class_grid(images: np.ndarray, labels: np.ndarray, classes: list[str],
               per_class: int) -> bytes:
    """The first ``per_class`` images of each class, a row per class, its name on the left."""
    h, w = images.shape[1:3]
    scale = max(1, math.ceil(MIN_TILE / max(h, w)))
    th, tw = h * scale, w * scale
    width = LABEL_WIDTH + per_class * (tw + PAD) + PAD
    height = len(classes) * (th + PAD) + PAD
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for row, name in enumerate(classes):
        y = PAD + row * (th + PAD)
        label = name if len(name) <= 14 else name[:13] + "…"
        draw.text((4, y + th // 2 - 6), label, fill="black", font=font)
        picks = np.flatnonzero(labels == row)[:per_class]
        for col, tile in enumerate(_rgb(images[picks])):
            img = Image.fromarray(np.ascontiguousarray(tile))
            img = img.resize((tw, th), Image.Resampling.NEAREST)
            canvas.paste(img, (LABEL_WIDTH + PAD + col * (tw + PAD), y))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()
