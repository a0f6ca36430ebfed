"""Dataset loaders that read local files only (never download).

Every ``load_*`` function returns an :class:`ImageDataset`: uint8 images
(N, H, W) or (N, H, W, 3), int64 labels indexing ``classes``, and a name.
:func:`load_dataset` picks the loader from a dataset's name or a path.
"""

from .arrays import load_npz
from .base import Conversion, DatasetFormatError, ImageDataset, NeedsOption
from .builtin import (
    DIGITS_IMBALANCED_COUNTS,
    load_digits,
    load_digits_images,
    load_digits_imbalanced,
)
from .cifar import load_cifar10
from .csvfile import load_csv
from .folder import load_image_folder
from .gtsrb import load_gtsrb
from .idx import load_idx, load_idx_archive, load_idx_pair, load_mnist_folder, read_idx
from .registry import load_dataset
from .svhn import load_svhn

__all__ = [
    "Conversion",
    "DatasetFormatError",
    "ImageDataset",
    "NeedsOption",
    "load_cifar10",
    "load_csv",
    "load_dataset",
    "DIGITS_IMBALANCED_COUNTS",
    "load_digits",
    "load_digits_images",
    "load_digits_imbalanced",
    "load_gtsrb",
    "load_idx",
    "load_idx_archive",
    "load_idx_pair",
    "load_image_folder",
    "load_mnist_folder",
    "load_npz",
    "load_svhn",
    "read_idx",
]
