"""``load_dataset``: a dataset by name (its files in ``data_dir``) or by path."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from . import _archive, cifar
from .arrays import load_npz
from .base import ImageDataset, check_choice
from .builtin import load_digits, load_digits_imbalanced
from .cifar import load_cifar10
from .csvfile import load_csv
from .folder import load_image_folder
from .gtsrb import load_gtsrb
from .idx import find_idx_pair, load_idx, load_idx_archive, load_mnist_folder
from .svhn import load_svhn

logger = logging.getLogger(__name__)

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]
KMNIST_CLASSES = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
EMNIST_SUBSETS = ("balanced", "byclass", "bymerge", "digits", "letters", "mnist")


def _mnist_like(prefix: str, classes: list[str] | None) -> Callable[..., ImageDataset]:
    def load(data_dir: Path, split: str = "test") -> ImageDataset:
        return load_mnist_folder(data_dir, split, classes=classes, name=f"{prefix}-{split}")
    return load


def _emnist(data_dir: Path, split: str = "test", subset: str = "balanced") -> ImageDataset:
    """EMNIST's ``emnist-<subset>-<split>-*`` files, named by ``emnist-<subset>-mapping.txt``."""
    check_choice(subset, EMNIST_SUBSETS, "subset")
    check_choice(split, ("test", "train"), "split")
    images, labels = find_idx_pair(data_dir, f"emnist-{subset}-{split}")
    dataset = load_idx(images, labels, name=f"emnist-{subset}-{split}", transpose=True)
    mapping = data_dir / f"emnist-{subset}-mapping.txt"
    if not mapping.is_file():
        return dataset
    # Lines "label code [code]": the character each label stands for.
    chars = {int(f[0]): chr(int(f[1])) for f in
             (line.split() for line in mapping.read_text().splitlines()) if len(f) >= 2}
    n_classes = max(len(dataset.classes), max(chars, default=-1) + 1)
    return replace(dataset, classes=[chars.get(i, "N/A") for i in range(n_classes)])


_NAMED: dict[str, Callable[..., ImageDataset]] = {
    "mnist": _mnist_like("mnist", None),
    "fashion-mnist": _mnist_like("fashion-mnist", FASHION_MNIST_CLASSES),
    "kmnist": _mnist_like("kmnist", KMNIST_CLASSES),
    "emnist": _emnist,
    "cifar10": load_cifar10,
    "svhn": load_svhn,
    "gtsrb": load_gtsrb,
}
KNOWN = ["digits", "digits-imbalanced", *_NAMED]

_ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")
_BY_SUFFIX: dict[str, Callable[..., ImageDataset]] = {
    ".npz": load_npz, ".csv": load_csv, ".mat": load_svhn,
}


def archive_loader(path: Path) -> Callable[..., ImageDataset]:
    """The loader for a zip or tar, from the names of the files it holds first.

    CIFAR-10's python batches, IDX files (MNIST's), or else class folders of images.
    """
    names = _archive.peek_names(path)
    bases = {PurePosixPath(n).name for n in names}
    if any(n.startswith(cifar.FOLDER) for n in names) or cifar.META_FILE in bases:
        return load_cifar10
    if any(_archive.IDX_NAME.search(b) for b in bases):
        return load_idx_archive
    return load_image_folder


def _by_structure(folder: Path) -> Callable[..., ImageDataset]:
    """The loader for a directory, from what it holds."""
    if (folder / cifar.META_FILE).is_file() or (folder / cifar.FOLDER).is_dir():
        return load_cifar10
    if any(folder.glob("t10k-images*idx3-ubyte*")) or any(folder.glob("train-images*idx3-ubyte*")):
        return load_mnist_folder
    if (folder / "Final_Training").is_dir() or (folder / "Final_Test").is_dir():
        return load_gtsrb
    return load_image_folder


def load_dataset(name_or_path, data_dir=None, **kw) -> ImageDataset:
    """Load a dataset by name, from files already on disk, or from a path.

    Nothing is ever downloaded.

    Parameters
    ----------
    name_or_path : str or path-like
        One of ``digits`` and ``digits-imbalanced`` (built in), ``mnist``,
        ``fashion-mnist``, ``kmnist``, ``emnist``, ``cifar10``, ``svhn``,
        ``gtsrb`` (case and ``_``/``-`` ignored), or else a path: a ``.zip``,
        ``.tar``, ``.tar.gz`` or directory of class folders, a zip or tar of
        MNIST-style IDX files, an ``.npz``, a ``.csv``, an SVHN ``.mat``, a
        CIFAR-10 ``.tar.gz``, or a directory of CIFAR-10 batches, MNIST-style IDX
        files or GTSRB.
        A known name wins over a file of the same name.
    data_dir : path-like, optional
        For a named dataset other than ``digits``: the folder holding its
        files (for ``emnist``, also ``emnist-<subset>-mapping.txt`` if present).
    **kw
        Passed to the loader: ``split`` for most, ``subset`` for ``emnist``
        (default ``"balanced"``), ``size`` and ``gt_csv`` for ``gtsrb``...

    Examples
    --------
    >>> load_dataset("digits").images.shape
    (1797, 8, 8)
    >>> load_dataset("fashion-mnist", "data/fashion", split="train")  # doctest: +SKIP
    >>> load_dataset("../shared/data/cifar10-test-jpg/cifar10-test-jpg.zip")  # doctest: +SKIP
    """
    key = str(name_or_path).lower().replace("_", "-")
    if key == "digits":
        return _call(load_digits, (), kw, "the digits dataset")
    if key == "digits-imbalanced":
        return _call(load_digits_imbalanced, (), kw, "the digits-imbalanced dataset")
    if key in _NAMED:
        if data_dir is None:
            raise ValueError(f"dataset {name_or_path!r} needs data_dir, the folder holding its "
                             f"files (nothing is downloaded); got None.")
        return _call(_NAMED[key], (Path(data_dir),), kw, f"dataset {key!r}")
    path = Path(name_or_path)
    if path.is_dir():
        return _call(_by_structure(path), (path,), kw, str(path))
    if path.is_file():
        suffix = ".tar.gz" if path.name.lower().endswith(".tar.gz") else path.suffix.lower()
        loader = archive_loader(path) if suffix in _ARCHIVES else _BY_SUFFIX.get(suffix)
        if loader is None:
            raise ValueError(f"cannot tell the format of {path} from its suffix; known "
                             f"suffixes are {sorted([*_BY_SUFFIX, *_ARCHIVES])}.")
        return _call(loader, (path,), kw, str(path))
    raise ValueError(f"unknown dataset {name_or_path!r}: neither one of {KNOWN} nor an "
                     f"existing file or folder.")


def _call(loader: Callable[..., ImageDataset], args: tuple, kw: dict, what: str) -> ImageDataset:
    """``loader(*args, **kw)``, refusing by name an option that this loader does not take.

    A ``split`` asked of an ``.npz`` file would otherwise end in a TypeError
    that names a function the caller never called.
    """
    params = inspect.signature(loader).parameters
    takes = [n for n, p in list(params.items())[len(args):]
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for option in kw:
        if option not in takes:
            raise ValueError(f"{what} has no {option!r} option; "
                             + (f"its options are {takes}." if takes else "it takes none."))
    return loader(*args, **kw)
