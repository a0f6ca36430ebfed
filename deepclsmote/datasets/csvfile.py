"""``label,pixel,pixel,...`` CSV files (Kaggle's MNIST and Fashion-MNIST layout)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from . import _pillow
from ._archive import MAX_TOTAL_BYTES
from ._pillow import MAX_PIXELS
from .arrays import encode_labels, to_uint8_noted
from .base import (
    Conversion,
    DatasetFormatError,
    ImageDataset,
    NeedsOption,
    check_choice,
    check_fit,
    check_size,
)

logger = logging.getLogger(__name__)


def _csv_shape(n_pixels: int, image_shape, path: Path) -> tuple[int, ...]:
    if image_shape is None:
        side = math.isqrt(n_pixels)
        if side * side != n_pixels:
            raise DatasetFormatError(f"{path}: rows hold {n_pixels} pixels, not a square "
                                     f"image; pass image_shape=(H, W).")
        return (side, side)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3) \
            or math.prod(shape) != n_pixels:
        raise ValueError(f"image_shape must be (H, W) or (H, W, 3) with {n_pixels} pixels in "
                         f"all; got {image_shape!r}.")
    return shape


def _check_csv_size(n_rows: int, shape: tuple[int, ...], path: Path, max_pixels: int | None,
                    max_total_bytes: int | None) -> None:
    if max_pixels is not None and shape[0] * shape[1] > max_pixels:
        raise DatasetFormatError(f"{path}: images of {shape[0]}x{shape[1]} pixels are more than "
                                 f"max_pixels={max_pixels}; refused.")
    nbytes = n_rows * math.prod(shape) * 8
    if max_total_bytes is not None and nbytes > max_total_bytes:
        raise DatasetFormatError(f"{path}: {n_rows} rows of {math.prod(shape)} pixels take "
                                 f"{nbytes} bytes to parse, more than "
                                 f"max_total_bytes={max_total_bytes}; refused.")


def _field(text: str) -> str:
    return text.strip().strip('"')


def has_header(rows: list[str], header: bool | None, source: str) -> tuple[bool, Conversion]:
    """Whether the first of ``rows`` is a header, and a record of why.

    With ``header`` given, that is the answer. Otherwise the first row is a
    header when its pixel columns hold no number, when they count the columns
    (0, 1, 2, ...) past 255, or when its label is a word over a column of
    numbers; it is data when it holds numbers only, or when its label is the
    label of another row too. Anything else (a word that labels no other
    row, over a column of words) is ambiguous and raises
    :class:`~deepclsmote.datasets.base.NeedsOption` naming ``header``: a data
    row is never dropped on a guess.
    """
    first = [_field(f) for f in rows[0].split(",")]
    label, pixels = first[0], first[1:]
    shown = ",".join(first[:3]) + (",..." if len(first) > 3 else "")

    def decided(is_header: bool, why: str) -> tuple[bool, Conversion]:
        read = "a header, not an image" if is_header else "data, an image"
        return is_header, Conversion("header", f"the first row ({shown}) was read as {read}: "
                                               f"{why}", 1 if is_header else 0)

    if header is not None:
        return decided(header, f"header={str(header).lower()} was given")
    numeric = [_is_number(p) for p in pixels]
    if pixels and not any(numeric):
        return decided(True, "its pixel columns hold names, not numbers")
    if not all(numeric):  # a data row with a bad pixel: parsing names it
        return decided(False, "most of its pixel columns hold numbers")
    values = [float(p) for p in pixels]
    if len(values) >= 4 and values[0] in (0, 1) and values[-1] > 255 and all(
            b - a == 1 for a, b in zip(values, values[1:], strict=False)):
        return decided(True, "its pixel columns count the columns (0, 1, 2, ...) past 255, "
                             "which no pixel holds")
    if _is_number(label):
        return decided(False, "it holds numbers only")
    others = [_field(row.split(",", 1)[0]) for row in rows[1:]]
    if others and all(_is_number(o) for o in others):
        return decided(True, f"its label {label!r} is a word where every other row has a number")
    if label in others:
        return decided(False, f"its label {label!r} is the label of other rows too")
    raise NeedsOption(f"{source}: cannot tell whether the first row ({shown}) is a header or "
                      f"an image: its label {label!r} is the label of no other row",
                      ("header",),
                      "pass header=True (it is a header) or header=False (it is an image).")


def load_csv(
    path,
    image_shape=None,
    classes=None,
    name: str | None = None,
    *,
    header: bool | None = None,
    size: tuple[int, int] | None = None,
    mode: str | None = None,
    fit: str = "stretch",
    max_pixels: int | None = MAX_PIXELS,
    max_total_bytes: int | None = MAX_TOTAL_BYTES,
) -> ImageDataset:
    """A CSV of ``label,pixel,pixel,...`` rows (Kaggle's MNIST/Fashion-MNIST layout).

    The file is read as UTF-8 (a byte-order mark is skipped). Labels may be
    integers or class names. Whether the first row is a header is ``header``,
    or else told from the file as :func:`has_header` says; when it cannot be
    told, a ``NeedsOption`` error asks for ``header`` rather than risk
    dropping an image. The decision, and any blank lines skipped, are in the
    dataset's ``conversions``. Every row must have as many fields as the
    first; the first row that does not is named by its line number.

    Parameters
    ----------
    path : path-like
    image_shape : (int, int) or (int, int, 3), optional
        By default rows hold square grey images, their side inferred from the width.
    classes : sequence of str, optional
        Class names, indexed by integer label or listing the string labels.
    name : str, optional
        Defaults to the file's stem.
    header : bool, optional
        Whether the first row is a header; by default told from the file.
    size, mode, fit
        As for :func:`~deepclsmote.datasets.load_image_folder`.
    max_pixels : int or None, default 8192 * 8192
        Most pixels (height x width) of one image.
    max_total_bytes : int or None, default 2 GiB
        Most bytes the parsed values may take (8 per value), checked before parsing.

    Examples
    --------
    >>> ds = load_csv("../shared/data/fashion-mnist-1000/fashion-mnist_test_subset1000.csv")
    ... # doctest: +SKIP
    >>> ds.images.shape  # doctest: +SKIP
    (1000, 28, 28)
    """
    path = Path(path)
    target = check_size(size) if size is not None else None
    if mode is not None:
        check_choice(mode, ("L", "RGB"), "mode")
    check_fit(fit)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(f"{path} is not UTF-8 text: {exc}") from exc
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        raise DatasetFormatError(f"{path} holds no data rows.")
    skip, header_note = has_header([line for _, line in numbered[:1000]], header, str(path))
    body = numbered[1:] if skip else numbered
    if not body:
        raise DatasetFormatError(f"{path} holds no data rows.")
    width = numbered[0][1].count(",") + 1
    for number, line in body:
        if line.count(",") + 1 != width:
            raise DatasetFormatError(f"{path}:{number}: {line.count(',') + 1} fields, but "
                                     f"{'the header has' if skip else f'line {numbered[0][0]} has'}"
                                     f" {width}.")
    shape = _csv_shape(width - 1, image_shape, path)
    _check_csv_size(len(body), shape, path, max_pixels, max_total_bytes)
    rows = [line for _, line in body]
    try:
        pixels = np.loadtxt(rows, delimiter=",", usecols=range(1, width), dtype=np.int64,
                            ndmin=2)
    except ValueError:
        try:
            pixels = np.loadtxt(rows, delimiter=",", usecols=range(1, width), dtype=np.float64,
                                ndmin=2)
        except ValueError as exc:
            raise _not_a_number(body, path) from exc
    raw = [_field(line.split(",", 1)[0]) for line in rows]
    numeric = all(_is_number(r) for r in raw)
    labels, names = encode_labels(np.array(raw, dtype=np.float64 if numeric else str),
                                  classes, str(path))
    images, pixel_note = to_uint8_noted(pixels.reshape(len(rows), *shape), str(path))
    images, converted = _pillow.convert_images(images, target, fit, mode, str(path))
    blank = len(text.splitlines()) - len(numbered)
    skipped = (Conversion("skipped", f"{blank} blank line(s) skipped", blank),) if blank else ()
    dataset = ImageDataset(images, labels, names, name or path.stem,
                           (header_note, *skipped, *pixel_note, *converted))
    logger.info("loaded %d images %s from %s", len(dataset), shape, path)
    return dataset


def _not_a_number(body: list[tuple[int, str]], path: Path) -> DatasetFormatError:
    """The error naming the first line, and field, whose pixel is not a number."""
    for number, line in body:
        bad = next((f for f in line.split(",")[1:] if not _is_number(f)), None)
        if bad is not None:
            return DatasetFormatError(f"{path}:{number}: pixel {bad.strip()!r} is not a number; "
                                      f"pixels must be numbers.")
    return DatasetFormatError(f"{path}: pixels must be numbers.")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
