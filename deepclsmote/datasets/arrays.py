"""Arrays on disk: ``.npz`` archives (never unpickled) and ``label,pixel...`` CSV files."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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


def _array(npz, key: str, path: Path) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as exc:  # an object array, which only pickle can rebuild
        raise DatasetFormatError(
            f"{path}: array {key!r} holds Python objects and would need pickle; refused."
        ) from exc


def load_npz(path, name: str | None = None) -> ImageDataset:
    """An ``.npz`` holding ``images`` and ``labels`` (optionally ``classes``), or ``X``, ``y``.

    The archive is opened with ``allow_pickle=False``: object arrays are refused.
    Images may be (N, H, W), (N, H, W, 1) or (N, H, W, 3), uint8 or converted
    as described in :func:`to_uint8`. Labels may be integers (kept as they are)
    or strings (mapped to the sorted class names, or to ``classes`` if stored).

    Examples
    --------
    >>> ds = load_npz("../shared/data/fashion-mnist-1000/fashion_mnist_test_subset1000.npz")
    ... # doctest: +SKIP
    >>> ds.classes[:2]  # doctest: +SKIP
    ['T-shirt/top', 'Trouser']
    """
    path = Path(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DatasetFormatError(f"{path} is not an .npz archive readable without pickle.") \
            from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DatasetFormatError(f"{path} is a single array, not an .npz archive.")
    with npz:
        keys = next((pair for pair in _KEY_PAIRS if set(pair) <= set(npz.files)), None)
        if keys is None:
            raise DatasetFormatError(f"{path} must hold arrays 'images' and 'labels' (or 'X' "
                                     f"and 'y'); got {sorted(npz.files)}.")
        images, raw = _array(npz, keys[0], path), _array(npz, keys[1], path)
        stored = _array(npz, "classes", path) if "classes" in npz.files else None
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


def load_csv(path, image_shape=None, classes=None, name: str | None = None) -> ImageDataset:
    """A CSV of ``label,pixel,pixel,...`` rows (Kaggle's MNIST/Fashion-MNIST layout).

    A first line whose first field is not a number (``label,pixel1,...``) is
    taken as a header. Labels may be integers or class names.

    Parameters
    ----------
    path : path-like
    image_shape : (int, int) or (int, int, 3), optional
        By default rows hold square grey images, their side inferred from the width.
    classes : sequence of str, optional
        Class names, indexed by integer label or listing the string labels.
    name : str, optional
        Defaults to the file's stem.

    Examples
    --------
    >>> ds = load_csv("../shared/data/fashion-mnist-1000/fashion-mnist_test_subset1000.csv")
    ... # doctest: +SKIP
    >>> ds.images.shape  # doctest: +SKIP
    (1000, 28, 28)
    """
    path = Path(path)
    lines = [line for line in path.read_text().splitlines() if line.strip()]
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
    try:
        pixels = np.loadtxt(body, delimiter=",", usecols=range(1, width), dtype=np.int64)
    except ValueError:
        try:
            pixels = np.loadtxt(body, delimiter=",", usecols=range(1, width), dtype=np.float64)
        except ValueError as exc:
            raise DatasetFormatError(f"{path}: pixels must be numbers: {exc}") from exc
    raw = [line.split(",", 1)[0].strip().strip('"') for line in body]
    numeric = all(_is_number(r) for r in raw)
    labels, names = encode_labels(np.array(raw, dtype=np.float64 if numeric else str),
                                  classes, str(path))
    images = to_uint8(pixels.reshape(len(body), *shape), str(path))
    dataset = ImageDataset(images, labels, names, name or path.stem)
    logger.info("loaded %d images %s from %s", len(dataset), shape, path)
    return dataset


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
