"""scikit-learn's digits: the built-in set that needs no files."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digits as uint8 images (N, 8, 8) in [0, 255] and int64 labels."""
    data = load_digits()
    images = np.rint(data.images * (255.0 / 16.0)).astype(np.uint8)
    return images, data.target.astype(np.int64)
