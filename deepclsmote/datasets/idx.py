"""IDX files (MNIST, Fashion-MNIST, EMNIST, KMNIST...), gzipped or not."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .base import DatasetFormatError, ImageDataset, check_choice, default_classes

logger = logging.getLogger(__name__)

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (``.gz`` is decompressed) into an array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise DatasetFormatError(f"{path} is not an IDX file (bad magic number).")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetFormatError(
            f"{path} declares shape {dims} ({expected} bytes of data) but holds "
            f"{len(data) - header} bytes."
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def load_idx_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) uint8 and labels (N,) int64 from an IDX pair."""
    images, labels = read_idx(images_path), read_idx(labels_path)
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
