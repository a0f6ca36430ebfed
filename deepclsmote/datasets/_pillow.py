"""Decoding one image file with Pillow into a grey or RGB uint8 array."""

from __future__ import annotations

from typing import IO

import numpy as np
from PIL import Image, UnidentifiedImageError

from .base import DatasetFormatError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pbm", ".bmp"})

# Pillow modes whose pixels fit 8 bits per channel, by the mode they become.
_GREY_MODES = frozenset({"1", "L", "LA", "La"})
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "CMYK", "YCbCr"})


def open_image(fh: IO[bytes], source: str) -> Image.Image:
    """Open and decode an image, naming ``source`` if it cannot be read."""
    try:
        image = Image.open(fh)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise DatasetFormatError(f"{source} is not a readable image: {exc}") from exc
    return image


def to_mode(image: Image.Image, mode: str | None, source: str) -> Image.Image:
    """``image`` in mode ``"L"`` or ``"RGB"``.

    With ``mode=None`` grey stays grey (``1``, ``L``, ``LA``) and everything else
    with 8-bit channels becomes RGB. Palette images are expanded through their
    palette (and its transparency); alpha channels are dropped, not composited,
    so the stored colours are kept. 16-bit and float images are refused rather
    than silently clipped.
    """
    if image.mode not in _GREY_MODES | _COLOUR_MODES:
        raise DatasetFormatError(
            f"{source} has Pillow mode {image.mode!r}; only 8-bit grey, palette or colour "
            f"images are supported."
        )
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    target = mode or ("L" if image.mode in _GREY_MODES else "RGB")
    return image if image.mode == target else image.convert(target)


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` resized to ``size = (height, width)`` with bilinear, antialiased filtering."""
    height, width = size
    if image.size == (width, height):
        return image
    return image.resize((width, height), Image.Resampling.BILINEAR)


def to_array(image: Image.Image) -> np.ndarray:
    """(H, W) for ``L`` images, (H, W, 3) for ``RGB`` ones, as uint8."""
    return np.asarray(image, dtype=np.uint8)
