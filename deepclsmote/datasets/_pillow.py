"""Decoding one image file with Pillow into a grey or RGB uint8 array."""

from __future__ import annotations

import struct
import warnings
from typing import IO

import numpy as np
from PIL import Image, UnidentifiedImageError

from .base import DatasetFormatError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pbm", ".bmp"})
# The only Pillow decoders tried, whatever a file is named: the ones for the
# suffixes above (PPM also reads PGM and PBM).
_FORMATS = ("PNG", "JPEG", "PPM", "BMP")

#: Default most pixels (width x height) of one image: 4096 x 4096, far above
#: what the sampler takes, far below Pillow's own decompression-bomb limit.
MAX_PIXELS = 1 << 24

# What Pillow raises on files it cannot identify or decode (truncated, corrupt, too large).
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error,
                  Image.DecompressionBombError, Image.DecompressionBombWarning)

# Pillow modes whose pixels fit 8 bits per channel, by the mode they become.
_GREY_MODES = frozenset({"1", "L", "LA", "La"})
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "CMYK", "YCbCr"})


def open_image(fh: IO[bytes], source: str, max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Open and decode a PNG, JPEG, PPM/PGM/PBM or BMP image, naming ``source`` on failure.

    The header's size is checked against ``max_pixels`` (``None``: no limit)
    before any pixel is decoded, so a decompression bomb costs nothing. A
    truncated or corrupt file raises :class:`DatasetFormatError`, as does an
    image past Pillow's own limit (its warning is turned into that error).
    """
    try:
        # catch_warnings is process-wide: a thread decoding at the same moment
        # may also see this warning raised, which refuses what it should.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fh, formats=_FORMATS)
    except UnidentifiedImageError as exc:  # its message shows the file object's repr
        raise DatasetFormatError(f"{source} is not a readable image: not a PNG, JPEG, "
                                 f"PPM/PGM/PBM or BMP file.") from exc
    except _DECODE_ERRORS as exc:
        raise DatasetFormatError(f"{source} is not a readable image: {exc}") from exc
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        raise DatasetFormatError(
            f"{source} is {width}x{height} pixels, more than max_pixels={max_pixels}; "
            f"refused before decoding (a decompression bomb, or too large an image)."
        )
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        raise DatasetFormatError(f"{source} is not a readable image: {exc}") from exc
    return image


def to_mode(image: Image.Image, mode: str | None, source: str) -> Image.Image:
    """``image`` in mode ``"L"`` or ``"RGB"``.

    With ``mode=None`` grey stays grey (``1``, ``L``, ``LA``) and everything else
    with 8-bit channels becomes RGB. Palette images are expanded through their
    palette (and its transparency), so they always become RGB; alpha channels
    are dropped, not composited, so the stored colours are kept. 16-bit grey
    and float images are refused rather than silently clipped. (Pillow itself
    decodes 16-bit colour PNGs to 8-bit RGB, keeping the high byte.)
    """
    if image.mode not in _GREY_MODES | _COLOUR_MODES:
        raise DatasetFormatError(
            f"{source} has Pillow mode {image.mode!r}; only 8-bit grey, palette or colour "
            f"images are supported (convert 16-bit grey images to 8 bits with the "
            f"windowing you want)."
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
