"""scikit-learn's digits: the built-in set that needs no files."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as sk_datasets

from .base import ImageDataset

CLASSES = [str(d) for d in range(10)]


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digits as uint8 images (N, 8, 8) in [0, 255] and int64 labels."""
    data = sk_datasets.load_digits()
    images = np.rint(data.images * (255.0 / 16.0)).astype(np.uint8)
    return images, data.target.astype(np.int64)


def load_digits() -> ImageDataset:
    """scikit-learn's 1,797 8x8 digits as an :class:`ImageDataset` (grey, 0..255).

    Examples
    --------
    >>> ds = load_digits()
    >>> ds.images.shape, len(ds), ds.classes[:3]
    ((1797, 8, 8), 1797, ['0', '1', '2'])
    """
    images, labels = load_digits_images()
    return ImageDataset(images, labels, list(CLASSES), "digits")


#: Images per class of the imbalanced view of digits (class 0 the largest, 9 the rarest):
#: DeepSMOTE's profile shape at the size of this small set, an imbalance ratio of 25.
DIGITS_IMBALANCED_COUNTS = [150, 100, 70, 50, 35, 25, 18, 12, 9, 6]


def load_digits_imbalanced() -> ImageDataset:
    """An imbalanced view of :func:`load_digits`: the first images of each class, 150 of
    class 0 down to 6 of class 9 (:data:`DIGITS_IMBALANCED_COUNTS`), so that evaluating
    oversampling on it has something to show, in minutes on a CPU.

    Examples
    --------
    >>> ds = load_digits_imbalanced()
    >>> ds.counts().tolist(), ds.name
    ([150, 100, 70, 50, 35, 25, 18, 12, 9, 6], 'digits-imbalanced')
    """
    images, labels = load_digits_images()
    keep = np.sort(np.concatenate([np.flatnonzero(labels == c)[:n]
                                   for c, n in enumerate(DIGITS_IMBALANCED_COUNTS)]))
    return ImageDataset(images[keep], labels[keep], list(CLASSES), "digits-imbalanced")
