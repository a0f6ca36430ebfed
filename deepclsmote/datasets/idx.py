"""IDX files (MNIST, Fashion-MNIST, EMNIST, KMNIST...), gzipped or not, loose or archived."""

from __future__ import annotations

import gzip
import logging
import math
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np

from . import _archive, _pillow
from ._archive import IDX_NAME, MAX_ENTRIES, MAX_RATIO, MAX_TOTAL_BYTES
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

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (``.gz`` is decompressed) into an array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return read_idx_stream(fh, str(path))


def read_idx_stream(fh: IO[bytes], source: str, max_bytes: int | None = None) -> np.ndarray:
    """One IDX array from an open (decompressed) stream, its data bounded by ``max_bytes``.

    The header is read first; a shape of more than ``max_bytes`` of data is
    refused before the data is read, and no more than the header promises is
    ever read.
    """
    head = fh.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _DTYPES:
        raise DatasetFormatError(f"{source} is not an IDX file (bad magic number).")
    ndim = head[3]
    raw_dims = fh.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DatasetFormatError(f"{source} is not an IDX file (its header is cut short).")
    dims = tuple(int.from_bytes(raw_dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[head[2]])
    expected = math.prod(dims) * dtype.itemsize
    if max_bytes is not None and expected > max_bytes:
        raise DatasetFormatError(f"{source} declares shape {dims} ({expected} bytes of data), "
                                 f"more than max_total_bytes={max_bytes}; refused.")
    data = fh.read(expected + 1)
    if len(data) != expected:
        held = f"{len(data)}" if len(data) < expected else "more"
        raise DatasetFormatError(
            f"{source} declares shape {dims} ({expected} bytes of data) but holds {held} bytes."
        )
    arr = np.frombuffer(data, dtype=dtype).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def load_idx_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) uint8 and labels (N,) int64 from an IDX pair."""
    return _pair(read_idx(images_path), read_idx(labels_path))


def _pair(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if images.ndim != 3 or labels.ndim != 1:
        raise DatasetFormatError(
            f"expected images (N, H, W) and labels (N,); got {images.shape} and {labels.shape}."
        )
    if len(images) != len(labels):
        raise DatasetFormatError(f"{len(images)} images but {len(labels)} labels.")
    return images.astype(np.uint8), labels.astype(np.int64)


def load_idx(
    images_path,
    labels_path,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    *,
    transpose: bool = False,
) -> ImageDataset:
    """An :class:`ImageDataset` from an IDX pair (MNIST, Fashion-MNIST, KMNIST, EMNIST).

    Parameters
    ----------
    images_path, labels_path : path-like
        The ``idx3`` images and ``idx1`` labels files, gzipped or not.
    classes : sequence of str, optional
        Class names indexed by label value. By default labels are kept as they are
        in the file and value ``i`` is named ``str(i)``.
    name : str, optional
        Defaults to the images file's name.
    transpose : bool, default False
        Swap rows and columns of every image. EMNIST stores its images
        transposed, so pass ``True`` for EMNIST files.

    Examples
    --------
    >>> ds = load_idx("emnist-balanced-test-images-idx3-ubyte.gz",
    ...               "emnist-balanced-test-labels-idx1-ubyte.gz",
    ...               transpose=True)  # doctest: +SKIP
    """
    images, labels = load_idx_pair(images_path, labels_path)
    if transpose:
        images = np.ascontiguousarray(images.transpose(0, 2, 1))
    names = list(classes) if classes is not None else default_classes(labels)
    dataset = ImageDataset(images, labels, names, name or Path(images_path).name)
    logger.info("loaded %d images %s from %s", len(dataset), images.shape[1:], images_path)
    return dataset


def find_idx_pair(folder, prefix: str) -> tuple[Path, Path]:
    """The ``<prefix>-images-idx3-ubyte[.gz]`` and labels files in ``folder``."""
    folder = Path(folder)
    found = []
    for kind, ndim in (("images", 3), ("labels", 1)):
        # Official names use '-idx3-ubyte'; some copies use '.idx3-ubyte'.
        tried = [f"{prefix}-{kind}{sep}idx{ndim}-ubyte{gz}" for sep in "-." for gz in ("", ".gz")]
        path = next((folder / t for t in tried if (folder / t).is_file()), None)
        if path is None:
            raise FileNotFoundError(f"no {kind} file in {folder}; looked for {tried}.")
        found.append(path)
    return found[0], found[1]


def load_mnist_folder(
    folder, split: str = "test", classes: Sequence[str] | None = None, name: str | None = None
) -> ImageDataset:
    """MNIST-style files in ``folder``: ``t10k-*`` (test) or ``train-*`` (train).

    MNIST, Fashion-MNIST and KMNIST ship under these same names, gzipped or not.

    Parameters
    ----------
    folder : path-like
        The folder holding ``t10k-images-idx3-ubyte[.gz]`` and
        ``t10k-labels-idx1-ubyte[.gz]`` (or the ``train-`` pair).
    split : {"test", "train"}, default "test"
    classes : sequence of str, optional
        Class names; by default label value ``i`` is named ``str(i)``.
    name : str, optional
        Defaults to ``"<folder name>-<split>"``.

    Examples
    --------
    >>> ds = load_mnist_folder("../shared/data/mnist")  # doctest: +SKIP
    >>> ds.labels[:5].tolist()  # doctest: +SKIP
    [7, 2, 1, 0, 4]
    """
    prefix = {"test": "t10k", "train": "train"}[check_choice(split, ("test", "train"), "split")]
    images_path, labels_path = find_idx_pair(folder, prefix)
    return load_idx(images_path, labels_path, classes,
                    name or f"{Path(folder).resolve().name}-{split}")


def _split_of(prefix: str) -> str | None:
    low = prefix.lower()
    return "train" if "train" in low else "test" if "t10k" in low or "test" in low else None


def idx_pairs(names: Sequence[str], source: str) -> dict[str, dict[str, str]]:
    """``{prefix: {"images": name, "labels": name}}`` for the IDX files among ``names``.

    Files are known by their names, as MNIST ships them
    (``train-images-idx3-ubyte.gz``, ``t10k-labels.idx1-ubyte``...).
    """
    pairs: dict[str, dict[str, str]] = {}
    for name in names:
        base = PurePosixPath(name).name
        match = IDX_NAME.search(base)
        if match is None or base.startswith("."):
            continue
        role = {"3": "images", "1": "labels"}.get(match.group(1))
        if role is None:
            raise DatasetFormatError(f"{source}: {name!r} is an idx{match.group(1)} file; a "
                                     f"dataset is an idx3 file of images and an idx1 file of "
                                     f"labels.")
        stem = base[: match.start()]
        prefix = next((stem[: -len(s)] for s in ("-images", "-labels", ".images", ".labels",
                                                 "_images", "_labels") if stem.endswith(s)),
                      stem)
        pair = pairs.setdefault(prefix, {})
        if role in pair:
            raise DatasetFormatError(f"{source} holds two {role} files for {prefix!r}: "
                                     f"{pair[role]!r} and {name!r}.")
        pair[role] = name
    for prefix, pair in pairs.items():
        if len(pair) != 2:
            have, lack = next(iter(pair.items())), "labels" if "images" in pair else "images"
            raise DatasetFormatError(f"{source}: {have[1]!r} has no {lack} file beside it "
                                     f"(an idx{'1' if lack == 'labels' else '3'} file named "
                                     f"{prefix}-{lack}-...).")
    return pairs


def _choose_pairs(pairs: dict[str, dict[str, str]], split: str | None,
                  source: str) -> tuple[list[str], list[Conversion]]:
    """The prefixes to read, and a note of the split chosen when there was a choice."""
    if not pairs:
        raise DatasetFormatError(f"{source} holds no IDX files (an idx3 file of images and "
                                 f"an idx1 file of labels, such as train-images-idx3-ubyte.gz "
                                 f"and train-labels-idx1-ubyte.gz).")
    if split is None and len(pairs) == 1:
        return list(pairs), []
    splits = {prefix: _split_of(prefix) for prefix in pairs}
    chosen = split or "all"
    if chosen != "all" and any(s is None for s in splits.values()):
        raise DatasetFormatError(f"{source}: split={chosen!r} cannot be told from the file "
                                 f"names {sorted(pairs)} (train... or t10k.../test...).")
    keep = [p for p in pairs if chosen == "all" or splits[p] == chosen]
    if not keep:
        raise DatasetFormatError(f"{source} holds no {chosen} files; it holds "
                                 f"{sorted(pairs)}.")
    left = sorted(set(pairs) - set(keep))
    detail = f"split={chosen}: read {', '.join(sorted(keep))}" + (
        f"; left out {', '.join(left)}" if left else "")
    return keep, [Conversion("split", detail)]


def load_idx_archive(
    path,
    split: str | None = None,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    *,
    size: tuple[int, int] | None = None,
    mode: str | None = None,
    fit: str = "stretch",
    transpose: bool = False,
    max_entries: int | None = MAX_ENTRIES,
    max_ratio: float | None = MAX_RATIO,
    max_total_bytes: int | None = MAX_TOTAL_BYTES,
) -> ImageDataset:
    """IDX files in a zip or tar (or a directory): one images/labels pair, or a train and a test.

    The files are the ones MNIST, Fashion-MNIST and KMNIST ship, gzipped or
    not (``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz``;
    ``t10k-...`` for the test split). The archive is checked as
    :func:`~deepclsmote.datasets.load_image_folder` checks its own, each
    gzipped file is decompressed as a stream and no further than its header
    declares, and ``max_total_bytes`` bounds the arrays' data in all.

    Parameters
    ----------
    path : path-like
    split : {"train", "test", "all"}, optional
        With a train and a test pair, which to read (default: both, train first).
    classes : sequence of str, optional
        Class names indexed by label value; by default ``str(i)``.
    name : str, optional
        Defaults to the archive's stem.
    size, mode, fit
        As for :func:`~deepclsmote.datasets.load_image_folder`.
    transpose : bool, default False
        Swap rows and columns of every image (EMNIST stores them transposed).

    Examples
    --------
    >>> ds = load_idx_archive("mnist.zip", split="test")  # doctest: +SKIP
    >>> ds.images.shape  # doctest: +SKIP
    (10000, 28, 28)
    """
    path = Path(path)
    if split is not None:
        check_choice(split, ("train", "test", "all"), "split")
    target = check_size(size) if size is not None else None
    if mode is not None:
        check_choice(mode, ("L", "RGB"), "mode")
    check_fit(fit)
    source = str(path)
    with _archive.open_archive(path, max_entries=max_entries, max_ratio=max_ratio,
                               max_total_bytes=max_total_bytes) as archive:
        pairs = idx_pairs(archive.names, source)
        keep, notes = _choose_pairs(pairs, split, source)
        wanted = {pairs[p][role]: (p, role) for p in keep for role in ("images", "labels")}
        arrays: dict[tuple[str, str], np.ndarray] = {}
        budget = max_total_bytes
        for member, fh in archive.open_each(list(wanted)):
            where = f"{source}:{member}"
            try:
                stream: Any = gzip.GzipFile(fileobj=fh) if member.lower().endswith(
                    ".gz") else fh
                array = read_idx_stream(stream, where, budget)
            except _archive.READ_ERRORS as exc:
                raise DatasetFormatError(f"{where} could not be read: {exc}") from exc
            arrays[wanted[member]] = array
            budget = None if budget is None else budget - array.nbytes
        others = [n for n in archive.names if n not in wanted and not IDX_NAME.search(n)]
    parts = [_pair(arrays[(p, "images")], arrays[(p, "labels")]) for p in
             sorted(keep, key=lambda p: (_split_of(p) != "train", p))]
    if len({p[0].shape[1:] for p in parts}) > 1:
        raise DatasetFormatError(f"{source}: the pairs hold images of different sizes "
                                 f"{[p[0].shape[1:] for p in parts]}.")
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if transpose:
        images = np.ascontiguousarray(images.transpose(0, 2, 1))
    images, converted = _pillow.convert_images(images, target, fit, mode, source)
    skipped = (Conversion("skipped", f"{len(others)} file(s) skipped, not IDX files: "
                                     f"{', '.join(others[:3])}"
                                     f"{', ...' if len(others) > 3 else ''}", len(others)),
               ) if others else ()
    names = list(classes) if classes is not None else default_classes(labels)
    dataset = ImageDataset(images, labels, names, name or path.name.split(".")[0],
                           (*notes, *converted, *skipped))
    logger.info("loaded %d images %s from %s", len(dataset), images.shape[1:], path)
    return dataset
