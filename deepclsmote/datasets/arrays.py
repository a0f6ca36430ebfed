"""Arrays on disk: ``.npz`` archives (never unpickled) and ``label,pixel...`` CSV files."""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _archive
from ._archive import MAX_ENTRIES, MAX_RATIO, MAX_TOTAL_BYTES
from ._pillow import MAX_PIXELS
from .base import DatasetFormatError, ImageDataset, default_classes

logger = logging.getLogger(__name__)

_KEY_PAIRS = (("images", "labels"), ("X", "y"))


def to_uint8(images: np.ndarray, source: str) -> np.ndarray:
    """Pixels as uint8: integers in 0..255 kept, floats in [0, 1] scaled by 255.

    Floats in 0..255 (not all within [0, 1]) are rounded; anything else raises.
    """
    if images.dtype == np.uint8 or images.size == 0:
        return images.astype(np.uint8)
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


def _read_npz(path: Path, max_pixels: int | None, **limits) -> dict[str, np.ndarray]:
    """The arrays ``images``, ``labels`` (or ``X``, ``y``) and, if stored, ``classes``."""
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
        headers = {role: _npy_header(archive, members[key], key, path)
                   for role, key in wanted.items()}
        shape = headers["images"][0]
        if max_pixels is not None and len(shape) >= 3 and shape[1] * shape[2] > max_pixels:
            raise DatasetFormatError(
                f"{path}: images of {shape[1]}x{shape[2]} pixels are more than "
                f"max_pixels={max_pixels}; refused."
            )
        arrays = {}
        for role, key in wanted.items():
            with archive.open(members[key]) as fh:
                try:
                    arrays[role] = np.lib.format.read_array(fh, allow_pickle=False)
                except ValueError as exc:  # data shorter than its header says
                    raise DatasetFormatError(f"{path}: array {key!r} could not be read: "
                                             f"{exc}") from exc
    return arrays


def load_npz(
    path,
    name: str | None = None,
    *,
    max_entries: int | None = MAX_ENTRIES,
    max_ratio: float | None = MAX_RATIO,
    max_total_bytes: int | None = MAX_TOTAL_BYTES,
    max_pixels: int | None = MAX_PIXELS,
) -> ImageDataset:
    """An ``.npz`` holding ``images`` and ``labels`` (optionally ``classes``), or ``X``, ``y``.

    Nothing is unpickled: object arrays are refused. Images may be (N, H, W),
    (N, H, W, 1) or (N, H, W, 3), uint8 or converted as described in
    :func:`to_uint8` (NaN and infinity are refused). Labels may be integers
    (kept as they are) or strings (mapped to the sorted class names, or to
    ``classes`` if stored); there must be one per image.

    An ``.npz`` is a zip archive: its members are checked against
    ``max_entries``, ``max_ratio`` and ``max_total_bytes`` as in
    :func:`~deepclsmote.datasets.load_image_folder`, each array's header is
    checked against its member's size, and ``max_pixels`` bounds one image's
    height x width, all before any array is read. ``None`` turns a limit off.

    Examples
    --------
    >>> ds = load_npz("../shared/data/fashion-mnist-1000/fashion_mnist_test_subset1000.npz")
    ... # doctest: +SKIP
    >>> ds.classes[:2]  # doctest: +SKIP
    ['T-shirt/top', 'Trouser']
    """
    path = Path(path)
    arrays = _read_npz(path, max_pixels, max_entries=max_entries, max_ratio=max_ratio,
                       max_total_bytes=max_total_bytes)
    images, raw, stored = arrays["images"], arrays["labels"], arrays.get("classes")
    classes = None
    if stored is not None:
        if stored.ndim != 1 or stored.dtype.kind not in "US":
            raise DatasetFormatError(f"{path}: 'classes' must be a 1-D array of strings; got "
                                     f"{stored.dtype} {stored.shape}.")
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in stored.tolist()]
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    labels, names = encode_labels(raw, classes, str(path))
    dataset = ImageDataset(to_uint8(images, str(path)), labels, names, name or path.stem)
    logger.info("loaded %d images %s from %s", len(dataset), dataset.images.shape[1:], path)
    return dataset


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


def load_csv(
    path,
    image_shape=None,
    classes=None,
    name: str | None = None,
    *,
    max_pixels: int | None = MAX_PIXELS,
    max_total_bytes: int | None = MAX_TOTAL_BYTES,
) -> ImageDataset:
    """A CSV of ``label,pixel,pixel,...`` rows (Kaggle's MNIST/Fashion-MNIST layout).

    The file is read as UTF-8 (a byte-order mark is skipped). A first line
    whose first field is not a number (``label,pixel1,...``) is taken as a
    header. Labels may be integers or class names. Every row must have as many
    fields as the first line; the first row that does not is named.

    Parameters
    ----------
    path : path-like
    image_shape : (int, int) or (int, int, 3), optional
        By default rows hold square grey images, their side inferred from the width.
    classes : sequence of str, optional
        Class names, indexed by integer label or listing the string labels.
    name : str, optional
        Defaults to the file's stem.
    max_pixels : int or None, default 4096 * 4096
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
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(f"{path} is not UTF-8 text: {exc}") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0].split(",", 1)[0].strip().strip('"') if lines else ""
    body = lines if _is_number(first) else lines[1:]
    if not body:
        raise DatasetFormatError(f"{path} holds no data rows.")
    width = lines[0].count(",") + 1
    for number, line in enumerate(body, start=len(lines) - len(body) + 1):
        if line.count(",") + 1 != width:
            raise DatasetFormatError(f"{path}:{number}: {line.count(',') + 1} fields, but "
                                     f"{'the header has' if body is not lines else 'line 1 has'} "
                                     f"{width}.")
    shape = _csv_shape(width - 1, image_shape, path)
    _check_csv_size(len(body), shape, path, max_pixels, max_total_bytes)
    try:
        pixels = np.loadtxt(body, delimiter=",", usecols=range(1, width), dtype=np.int64)
    except ValueError:
        try:
            pixels = np.loadtxt(body, delimiter=",", usecols=range(1, width), dtype=np.float64)
        except ValueError as exc:
            raise _not_a_number(body, len(lines) - len(body) + 1, path) from exc
    raw = [line.split(",", 1)[0].strip().strip('"') for line in body]
    numeric = all(_is_number(r) for r in raw)
    labels, names = encode_labels(np.array(raw, dtype=np.float64 if numeric else str),
                                  classes, str(path))
    images = to_uint8(pixels.reshape(len(body), *shape), str(path))
    dataset = ImageDataset(images, labels, names, name or path.stem)
    logger.info("loaded %d images %s from %s", len(dataset), shape, path)
    return dataset


def _not_a_number(body: list[str], first_line: int, path: Path) -> DatasetFormatError:
    """The error naming the first line, and field, whose pixel is not a number."""
    for number, line in enumerate(body, start=first_line):
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
