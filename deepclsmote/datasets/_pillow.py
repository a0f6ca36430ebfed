"""Decoding images with Pillow into grey or RGB uint8 arrays, and saying what changed.

One image is decoded at a time. With a target size, a large image is decoded
reduced: a JPEG at 1/2, 1/4 or 1/8 of its size by its own decoder (Pillow's
``draft``), any other format reduced by a whole factor right after decoding
(``reduce``), in both cases to no less than twice the target, before the
final antialiased resize. :class:`Tally` counts what was done to each image
and describes it once per kind of change, for the dataset's ``conversions``.
"""

from __future__ import annotations

import struct
import warnings
from collections import Counter
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .base import Conversion, DatasetFormatError, NeedsOption

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pbm", ".bmp", ".tif",
                            ".tiff", ".webp"})
# The only Pillow decoders tried, whatever a file is named: the ones for the
# suffixes above (PPM also reads PGM and PBM).
_FORMATS = ("PNG", "JPEG", "PPM", "BMP", "TIFF", "WEBP")
FORMAT_NAMES = "PNG, JPEG, PPM/PGM/PBM, BMP, TIFF or WebP"

#: Default most pixels (width x height) of one image: 8192 x 8192, below Pillow's own
#: decompression-bomb limit. With a target size, such an image is decoded reduced.
MAX_PIXELS = 1 << 26

#: What transparent pixels are composited onto: white.
BACKGROUND = 255

# What Pillow raises on files it cannot identify or decode (truncated, corrupt, too large).
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error,
                  Image.DecompressionBombError, Image.DecompressionBombWarning)

# Pillow modes whose pixels fit 8 bits per channel, by the mode they become.
_GREY_MODES = frozenset({"1", "L", "LA", "La"})
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "CMYK", "YCbCr"})
_ALPHA_MODES = frozenset({"LA", "La", "RGBA", "RGBa", "PA"})
_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"})


def open_image(fh: IO[bytes], source: str, max_pixels: int | None = MAX_PIXELS,
               target: tuple[int, int] | None = None) -> Image.Image:
    """Open and decode one image, naming ``source`` on failure (see :func:`decode`)."""
    return decode(fh, source, max_pixels, target)[0]


def decode(fh: IO[bytes], source: str, max_pixels: int | None = MAX_PIXELS,
           target: tuple[int, int] | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """One image, decoded, and its (width, height) as stored.

    The header's size is checked against ``max_pixels`` (``None``: no limit)
    before any pixel is decoded, so a decompression bomb costs nothing. With a
    ``target`` (height, width), the image is decoded reduced toward twice the
    target (see the module's docstring). A truncated or corrupt file raises
    :class:`DatasetFormatError`, as does an image past Pillow's own limit (its
    warning is turned into that error). A file of several frames (a TIFF
    stack, an animated WebP) gives its first.
    """
    try:
        # catch_warnings is process-wide: a thread decoding at the same moment
        # may also see this warning raised, which refuses what it should.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(fh, formats=_FORMATS)
    except UnidentifiedImageError as exc:  # its message shows the file object's repr
        raise DatasetFormatError(f"{source} is not a readable image: not a {FORMAT_NAMES} "
                                 f"file.") from exc
    except _DECODE_ERRORS as exc:
        raise DatasetFormatError(f"{source} is not a readable image: {exc}") from exc
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        facts = (f"{source} is {width}x{height} pixels, more than max_pixels={max_pixels}; "
                 f"refused before decoding (a decompression bomb, or too large an image)")
        if target is not None:
            raise DatasetFormatError(facts + ".")
        raise NeedsOption(facts, ("size",), "pass size=(H, W) to decode images reduced to "
                                            "that size, with a max_pixels that admits them.")
    if target is not None:
        image.draft(None, (2 * target[1], 2 * target[0]))  # JPEG only; others ignore it
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        raise DatasetFormatError(f"{source} is not a readable image: {exc}") from exc
    if target is not None:
        factor = min(image.width // (2 * target[1]), image.height // (2 * target[0]))
        if factor >= 2 and image.mode in _REDUCIBLE:
            image = image.reduce(factor)
    return image, (width, height)


def to_mode(image: Image.Image, mode: str | None, source: str) -> Image.Image:
    """``image`` in mode ``"L"`` or ``"RGB"``.

    With ``mode=None`` grey stays grey (``1``, ``L``, ``LA``) and everything
    else with 8-bit channels becomes RGB. Palette images are expanded through
    their palette (and its transparency). Transparent pixels are composited
    onto white (:data:`BACKGROUND`); an alpha channel that is opaque
    everywhere is dropped. 16-bit grey and float images are refused rather
    than silently clipped. (Pillow itself decodes 16-bit colour PNGs to 8-bit
    RGB, keeping the high byte.)
    """
    if image.mode not in _GREY_MODES | _COLOUR_MODES:
        raise DatasetFormatError(
            f"{source} has Pillow mode {image.mode!r}; only 8-bit grey, palette or colour "
            f"images are supported (convert 16-bit grey images to 8 bits with the "
            f"windowing you want)."
        )
    grey = image.mode in _GREY_MODES
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        if _min_alpha(rgba) < 255:
            background = Image.new("RGBA", image.size, (BACKGROUND,) * 3 + (255,))
            image = Image.alpha_composite(background, rgba)
    target = mode or ("L" if grey else "RGB")
    return image if image.mode == target else image.convert(target)


def has_transparency(image: Image.Image) -> bool:
    """Whether some pixel of ``image`` (a palette's included) is not fully opaque."""
    if image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        return _min_alpha(image.convert("RGBA")) < 255
    return False


def _min_alpha(rgba: Image.Image) -> int:
    return int(np.asarray(rgba.getchannel("A")).min())


def fit_to(image: Image.Image, size: tuple[int, int], fit: str = "stretch") -> Image.Image:
    """``image`` at ``size = (height, width)``, met as ``fit`` says (bilinear, antialiased)."""
    height, width = size
    if image.size == (width, height):
        return image
    method = Image.Resampling.BILINEAR
    if fit == "crop":
        return ImageOps.fit(image, (width, height), method)
    if fit == "pad":
        return ImageOps.pad(image, (width, height), method, color=0)
    return image.resize((width, height), method)


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` stretched to ``size = (height, width)`` (bilinear, antialiased)."""
    return fit_to(image, size, "stretch")


def to_array(image: Image.Image) -> np.ndarray:
    """(H, W) for ``L`` images, (H, W, 3) for ``RGB`` ones, as uint8."""
    return np.asarray(image, dtype=np.uint8)


class Tally:
    """What was done to each image, counted, and described once per kind of change.

    Call :meth:`convert` for each decoded image; :meth:`conversions` then
    lists the resizes (by source size), mode changes (by source mode), alpha
    composited and frames left out.
    """

    def __init__(self, size: tuple[int, int] | None, fit: str, mode: str | None):
        self.size, self.fit, self.mode = size, fit, mode
        self.n_images = 0
        self.sizes: Counter[tuple[int, int]] = Counter()
        self.modes: Counter[str] = Counter()
        self.alpha = 0
        self.frames = 0

    def convert(self, image: Image.Image, source: str,
                original: tuple[int, int] | None = None) -> Image.Image:
        """``image`` in its final mode and size; ``original``: its (width, height) as stored."""
        self.n_images += 1
        if getattr(image, "n_frames", 1) > 1:
            self.frames += 1
        self.alpha += has_transparency(image)
        before = image.mode
        converted = to_mode(image, self.mode, source)
        if converted.mode != before:
            self.modes[before] += 1
        if self.size is None:
            return converted
        width, height = original or converted.size
        if (height, width) != self.size:
            self.sizes[(width, height)] += 1
        return fit_to(converted, self.size, self.fit)

    def conversions(self, final_mode: str | None = None) -> tuple[Conversion, ...]:
        out = []
        n = self.n_images
        if self.sizes:
            count = sum(self.sizes.values())
            h, w = self.size or (0, 0)
            common = ", ".join(f"{sw}x{sh} ({k})" for (sw, sh), k in self.sizes.most_common(3))
            more = ", ..." if len(self.sizes) > 3 else ""
            how = {"stretch": "each side scaled to the size (the aspect ratio may change)",
                   "crop": "scaled to cover the size, the centre cut out",
                   "pad": "scaled to fit inside the size, the rest filled with black"}[self.fit]
            out.append(Conversion("resize", f"{count} of {n} images resized to {h}x{w} "
                                            f"(fit={self.fit}: {how}); they were "
                                            f"{common}{more} (width x height)", count))
        if self.modes:
            count = sum(self.modes.values())
            found = ", ".join(f"{m}: {k}" for m, k in self.modes.most_common())
            out.append(Conversion("mode", f"{count} of {n} images converted to "
                                          f"{final_mode or self.mode or 'their stored mode'} "
                                          f"(from {found})", count))
        if self.alpha:
            out.append(Conversion("alpha", f"{self.alpha} of {n} images had transparent "
                                           f"pixels; they were composited onto white",
                                  self.alpha))
        if self.frames:
            out.append(Conversion("frames", f"{self.frames} of {n} images hold several frames; "
                                            f"the first frame of each was read", self.frames))
        return tuple(out)


def convert_images(images: np.ndarray, size: tuple[int, int] | None, fit: str,
                   mode: str | None, source: str) -> tuple[np.ndarray, tuple[Conversion, ...]]:
    """uint8 images (N, H, W) or (N, H, W, 3) resized and converted as :class:`Tally` does.

    For loaders of arrays (``.npz``, CSV, IDX), so that ``size``, ``fit`` and
    ``mode`` mean the same for every format.
    """
    if size is None and (mode is None or (mode == "L") == (images.ndim == 3)):
        return images, ()
    tally = Tally(size, fit, mode)
    out = [to_array(tally.convert(Image.fromarray(image), source)) for image in images]
    stacked = np.stack(out) if out else images
    return stacked, tally.conversions("L" if stacked.ndim == 3 else "RGB")
