"""SVHN's cropped digits: ``train_32x32.mat``, ``test_32x32.mat``, ``extra_32x32.mat``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .base import DatasetFormatError, ImageDataset, check_choice

logger = logging.getLogger(__name__)

SPLITS = ("test", "train", "extra")
CLASSES = [str(d) for d in range(10)]


def load_svhn(path, split: str | None = None, name: str | None = None) -> ImageDataset:
    """SVHN (format 2, 32x32 crops): images (N, 32, 32, 3) uint8, labels 0..9.

    The files store digit 0 as label 10; it is returned as 0, so that label
    ``d`` is digit ``d``.

    Parameters
    ----------
    path : path-like
        A ``.mat`` file, or the folder holding ``<split>_32x32.mat``.
    split : {"test", "train", "extra"}, optional
        Which file to read when ``path`` is a folder (default ``"test"``).
        Refused with a file, which is already one split: a ``split`` that
        disagreed with the file would otherwise be ignored without a word.
    name : str, optional
        Defaults to ``"svhn-<split>"`` (or the file's stem).

    Examples
    --------
    >>> ds = load_svhn("data/svhn", split="train")  # doctest: +SKIP
    >>> ds.images.shape  # doctest: +SKIP
    (73257, 32, 32, 3)
    """
    from scipy.io import loadmat  # scipy comes with scikit-learn
    from scipy.io.matlab import MatReadError

    path = Path(path)
    if path.is_dir():
        path = path / f"{check_choice(split or 'test', SPLITS, 'split')}_32x32.mat"
    elif split is not None:
        raise ValueError(f"split picks a file in a folder of SVHN files; {path} is a file "
                         f"already (pass its folder, or no split); got split={split!r}.")
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found.")
    try:
        mat = loadmat(path, variable_names=["X", "y"])
    except (MatReadError, ValueError, NotImplementedError, TypeError) as exc:
        raise DatasetFormatError(f"{path} is not a readable MATLAB (v5) file: {exc}") from exc
    X, y = mat.get("X"), mat.get("y")
    if not isinstance(X, np.ndarray) or X.ndim != 4 or X.shape[2] != 3 or X.dtype != np.uint8:
        got = f"{X.dtype} {X.shape}" if isinstance(X, np.ndarray) else "nothing"
        raise DatasetFormatError(f"{path}: 'X' must be uint8 (H, W, 3, N); got {got}.")
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iuf" or y.size != X.shape[3]:
        got = f"{y.dtype} {y.shape}" if isinstance(y, np.ndarray) else "nothing"
        raise DatasetFormatError(f"{path}: 'y' must hold {X.shape[3]} labels; got {got}.")
    images = np.ascontiguousarray(X.transpose(3, 0, 1, 2))
    raw = y.reshape(-1)
    if not np.array_equal(raw, np.round(raw)):
        raise DatasetFormatError(f"{path}: 'y' must hold whole numbers; got {raw[:5]}...")
    labels = np.where(raw == 10, 0, raw).astype(np.int64)  # 10 stands for digit 0
    stem = path.stem.removesuffix("_32x32")
    dataset = ImageDataset(images, labels, list(CLASSES), name or f"svhn-{stem}")
    logger.info("loaded %d SVHN images from %s", len(dataset), path)
    return dataset
