"""``.npz`` archives of arrays (never unpickled), and what array loaders share."""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _archive, _pillow
from ._archive import MAX_ENTRIES, MAX_RATIO, MAX_TOTAL_BYTES
from ._pillow import MAX_PIXELS
from .base import (
    Conversion,
    DatasetFormatError,
    ImageDataset,
    check_choice,
    check_fit,
    check_size,
    default_classes,
)

logger = logging.getLogger(__name__)

_KEY_PAIRS = (("images", "labels"), ("X", "y"))


def to_uint8(images: np.ndarray, source: str) -> np.ndarray:
    """Pixels as uint8: integers in 0..255 kept, floats in [0, 1] scaled by 255.

    Floats in 0..255 (not all within [0, 1]) are rounded; anything else raises.
    """
    return to_uint8_noted(images, source)[0]


def to_uint8_noted(images: np.ndarray, source: str) -> tuple[np.ndarray, tuple[Conversion, ...]]:
    """:func:`to_uint8`, and a record of the change if the pixels were floats."""
    if images.dtype == np.uint8 or images.size == 0:
        return images.astype(np.uint8), ()
    converted = _to_uint8(images, source)
    if images.dtype.kind != "f":  # whole numbers in 0..255: nothing changes
        return converted, ()
    what = ("scaled from [0, 1] to 0..255 and rounded" if images.max() <= 1
            else "rounded to whole numbers in 0..255")
    return converted, (Conversion("pixels", f"{images.dtype} pixels {what}"),)


def _to_uint8(images: np.ndarray, source: str) -> np.ndarray:
    kind = images.dtype.kind
    if kind not in "iuf":
        raise DatasetFormatError(f"{source}: pixels must be numbers; got dtype {images.dtype}.")
    if kind == "f" and not np.isfinite(images).all():
        raise DatasetFormatError(f"{source}: pixels must be finite; got NaN or infinity.")
    low, high = images.min(), images.max()
    if kind == "f" and low >= 0 and high <= 1:
        return np.rint(images * 255.0).astype(np.uint8)
    if low < 0 or high > 255:
        raise DatasetFormatError(
            f"{source}: pixels must lie in 0..255 (or [0, 1] for floats); "
            f"got {images.dtype} values from {low} to {high}."
        )
    return np.rint(images).astype(np.uint8) if kind == "f" else images.astype(np.uint8)


def encode_labels(
    raw: np.ndarray, classes: Sequence[str] | None, source: str
) -> tuple[np.ndarray, list[str]]:
    """int64 class indices and class names from integer or string labels.

    Integer labels are kept as they are (named ``str(i)`` unless ``classes`` is
    given). String labels become indices into ``classes``, by default their
    sorted distinct values.
    """
    raw = np.asarray(raw)
    if raw.ndim != 1:
        raise DatasetFormatError(f"{source}: labels must be 1-D; got shape {raw.shape}.")
    if raw.dtype.kind in "US":
        names = np.char.decode(raw, "utf-8") if raw.dtype.kind == "S" else raw
        known = list(classes) if classes is not None else sorted(set(names.tolist()))
        index = {c: i for i, c in enumerate(known)}
        unknown = sorted(set(names.tolist()) - index.keys())
        if unknown:
            raise DatasetFormatError(f"{source}: labels {unknown[:5]} are not among {known}.")
        return np.array([index[n] for n in names.tolist()], dtype=np.int64), known
    whole = raw.dtype.kind in "iu" or (raw.dtype.kind == "f" and np.array_equal(raw, np.round(raw)))
    if not whole:
        raise DatasetFormatError(
            f"{source}: labels must be integers or strings; got {raw.dtype} {raw[:5]}..."
        )
    labels = raw.astype(np.int64)
    return labels, list(classes) if classes is not None else default_classes(labels)


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def _npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str,
                path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """An array's shape and dtype from its header, before its data is read.

    Object arrays (which only pickle can rebuild) are refused, and so is a
    header promising more data than the member holds.
    """
    with archive.open(info) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version not in _HEADER_READERS:
                raise ValueError(f"format version {version} is not supported")
            shape, _, dtype = _HEADER_READERS[version](fh)
        except ValueError as exc:
            raise DatasetFormatError(f"{path}: member {info.filename!r} is not a NumPy array: "
                                     f"{exc}") from exc
    if dtype.hasobject:
        raise DatasetFormatError(
            f"{path}: array {key!r} holds Python objects and would need pickle; refused."
        )
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > info.file_size:
        raise DatasetFormatError(f"{path}: array {key!r} claims shape {shape} of {dtype} "
                                 f"({nbytes} bytes) but its member holds {info.file_size} bytes.")
    return shape, dtype


#: Names an ``.npz`` may store the (H, W[, C]) of flattened image rows under.
_SHAPE_KEYS = ("image_shape", "shape")
_LAYOUTS = "(N, H, W), (N, H, W, C), (N, C, H, W) with C 1 or 3, or flat rows (N, H*W*C)"


def flat_shape(n_values: int, image_shape, source: str) -> tuple[int, int, int]:
    """(H, W, C) of rows of ``n_values``: ``image_shape`` if given, else a square grey or RGB."""
    if image_shape is not None:
        shape = tuple(int(v) for v in np.asarray(image_shape).ravel())
        h, w, c = (*shape, 1) if len(shape) == 2 else shape if len(shape) == 3 else (0, 0, 0)
        if c not in (1, 3) or h < 1 or w < 1 or h * w * c != n_values:
            raise DatasetFormatError(f"{source}: image_shape must be (H, W) or (H, W, C) with "
                                     f"C 1 or 3 and {n_values} values in all; got "
                                     f"{list(shape)}.")
        return h, w, c
    for c in (1, 3):
        side = math.isqrt(n_values // c)
        if n_values % c == 0 and side * side * c == n_values:
            return side, side, c
    raise DatasetFormatError(f"{source}: rows of {n_values} values are not a square grey or "
                             f"RGB image; store image_shape=(H, W) or (H, W, C) beside them.")


def image_layout(shape: tuple[int, ...], image_shape, source: str
                 ) -> tuple[str, tuple[int, int, int]]:
    """``("NHW" | "NHWC" | "NCHW" | "flat", (H, W, C))`` of an images array's ``shape``."""
    if len(shape) == 3:
        return "NHW", (shape[1], shape[2], 1)
    if len(shape) == 4:
        last, second = shape[3] in (1, 3), shape[1] in (1, 3)
        if last and not second:
            return "NHWC", (shape[1], shape[2], shape[3])
        if second and not last:
            return "NCHW", (shape[2], shape[3], shape[1])
        which = "could be either" if last else "has neither"
        raise DatasetFormatError(f"{source}: images of shape {shape} {which} a channel axis "
                                 f"of 1 or 3 first or last; expected {_LAYOUTS}.")
    if len(shape) == 2:
        return "flat", flat_shape(shape[1], image_shape, source)
    raise DatasetFormatError(f"{source}: images must have shape {_LAYOUTS}; got {shape}.")


def _read_npz(path: Path, max_pixels: int | None, image_shape,
              **limits) -> tuple[dict[str, np.ndarray], str, tuple[int, int, int]]:
    """The arrays ``images``, ``labels`` (or ``X``, ``y``) and, if stored, ``classes``; the
    images' layout and (H, W, C), told from their header before their data is read."""
    if not zipfile.is_zipfile(path):
        with path.open("rb") as fh:
            single = fh.read(6) == np.lib.format.MAGIC_PREFIX
        raise DatasetFormatError(f"{path} is a single array, not an .npz archive." if single else
                                 f"{path} is not an .npz archive readable without pickle.")
    with _archive.open_zip(path, **limits) as archive:
        members = {i.filename.removesuffix(".npy"): i for i in archive.infolist()
                   if not i.is_dir()}
        keys = next((pair for pair in _KEY_PAIRS if set(pair) <= members.keys()), None)
        if keys is None:
            raise DatasetFormatError(f"{path} must hold arrays 'images' and 'labels' (or 'X' "
                                     f"and 'y'); got {sorted(members)}.")
        wanted = dict(zip(("images", "labels"), keys, strict=True))
        if "classes" in members:
            wanted["classes"] = "classes"
        stored_shape = next((k for k in _SHAPE_KEYS if k in members), "")
        if stored_shape and image_shape is None:
            wanted["image_shape"] = stored_shape
        headers = {role: _npy_header(archive, members[key], key, path)
                   for role, key in wanted.items()}
        shape = headers["images"][0]
        arrays = {}
        if "image_shape" in wanted:
            arrays["image_shape"] = _read(archive, members[stored_shape], stored_shape, path)
            if arrays["image_shape"].size > 3 or arrays["image_shape"].dtype.kind not in "iu":
                raise DatasetFormatError(f"{path}: {stored_shape!r} must hold 2 or 3 integers; "
                                         f"got {arrays['image_shape'].dtype} "
                                         f"{arrays['image_shape'].shape}.")
        layout, (height, width, _) = hwc = image_layout(
            shape, image_shape if image_shape is not None else arrays.get("image_shape"),
            str(path))
        if max_pixels is not None and height * width > max_pixels:
            raise DatasetFormatError(
                f"{path}: images of {height}x{width} pixels are more than "
                f"max_pixels={max_pixels}; refused."
            )
        for role in ("images", "labels", "classes"):
            if role in wanted:
                arrays[role] = _read(archive, members[wanted[role]], wanted[role], path)
    return arrays, layout, hwc[1]


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, path: Path) -> np.ndarray:
    with archive.open(info) as fh:
        try:
            return np.lib.format.read_array(fh, allow_pickle=False)
        except ValueError as exc:  # data shorter than its header says
            raise DatasetFormatError(f"{path}: array {key!r} could not be read: {exc}") from exc


def to_nhwc(images: np.ndarray, layout: str, hwc: tuple[int, int, int],
            source: str) -> tuple[np.ndarray, tuple[Conversion, ...]]:
    """Images (N, H, W) or (N, H, W, 3) from ``layout``, and a record of a change of layout."""
    h, w, c = hwc
    note: tuple[Conversion, ...] = ()
    if layout == "flat":
        images = images.reshape(len(images), h, w, c)
        note = (Conversion("layout", f"rows of {h * w * c} values read as {h}x{w}"
                                     f"{'x3' if c == 3 else ''} images "
                                     f"({'channels last' if c == 3 else 'grey'})"),)
    elif layout == "NCHW":
        images = np.ascontiguousarray(images.transpose(0, 2, 3, 1))
        note = (Conversion("layout", "images stored channels first (N, C, H, W) were "
                                     "transposed to channels last (N, H, W, C)"),)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    return images, note


def load_npz(
    path,
    name: str | None = None,
    image_shape=None,
    *,
    size: tuple[int, int] | None = None,
    mode: str | None = None,
    fit: str = "stretch",
    max_entries: int | None = MAX_ENTRIES,
    max_ratio: float | None = MAX_RATIO,
    max_total_bytes: int | None = MAX_TOTAL_BYTES,
    max_pixels: int | None = MAX_PIXELS,
) -> ImageDataset:
    """An ``.npz`` holding ``images`` and ``labels`` (optionally ``classes``), or ``X``, ``y``.

    Nothing is unpickled: object arrays are refused. Images may be (N, H, W),
    (N, H, W, C) or (N, C, H, W) with C 1 or 3 (a side of 1 or 3 pixels makes
    the layout ambiguous and is refused), or flat rows (N, H*W*C) in channels
    last order, whose (H, W[, C]) is ``image_shape``, else an ``image_shape``
    (or ``shape``) array stored beside them, else a square grey or RGB image.
    Pixels are uint8 or converted as described in :func:`to_uint8` (NaN and
    infinity are refused). Labels may be integers (kept as they are) or
    strings (mapped to the sorted class names, or to ``classes`` if stored);
    there must be one per image. A change of layout or pixel type is recorded
    in the dataset's ``conversions``.

    An ``.npz`` is a zip archive: its members are checked against
    ``max_entries``, ``max_ratio`` and ``max_total_bytes`` as in
    :func:`~deepclsmote.datasets.load_image_folder`, each array's header is
    checked against its member's size, and ``max_pixels`` bounds one image's
    height x width, all before any array is read. ``None`` turns a limit off.
    ``size``, ``mode`` and ``fit`` resize and convert the images as
    :func:`~deepclsmote.datasets.load_image_folder` does.

    Examples
    --------
    >>> ds = load_npz("../shared/data/fashion-mnist-1000/fashion_mnist_test_subset1000.npz")
    ... # doctest: +SKIP
    >>> ds.classes[:2]  # doctest: +SKIP
    ['T-shirt/top', 'Trouser']
    """
    path = Path(path)
    target = check_size(size) if size is not None else None
    if mode is not None:
        check_choice(mode, ("L", "RGB"), "mode")
    check_fit(fit)
    arrays, layout, hwc = _read_npz(path, max_pixels, image_shape, max_entries=max_entries,
                                    max_ratio=max_ratio, max_total_bytes=max_total_bytes)
    images, raw, stored = arrays["images"], arrays["labels"], arrays.get("classes")
    classes = None
    if stored is not None:
        if stored.ndim != 1 or stored.dtype.kind not in "US":
            raise DatasetFormatError(f"{path}: 'classes' must be a 1-D array of strings; got "
                                     f"{stored.dtype} {stored.shape}.")
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in stored.tolist()]
    images, laid = to_nhwc(images, layout, hwc, str(path))
    labels, names = encode_labels(raw, classes, str(path))
    images, pixels = to_uint8_noted(images, str(path))
    images, converted = _pillow.convert_images(images, target, fit, mode, str(path))
    dataset = ImageDataset(images, labels, names, name or path.stem,
                           (*laid, *pixels, *converted))
    logger.info("loaded %d images %s from %s", len(dataset), dataset.images.shape[1:], path)
    return dataset
