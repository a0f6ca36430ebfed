"""CIFAR-10 "python version" batches, from the folder or the ``.tar.gz``.

The official batches are pickles. They are read by an unpickler that builds
nothing but numpy arrays and plain containers: any other global a pickle names
(a function, a class) is refused before it can run.
"""

from __future__ import annotations

import io
import logging
import pickle
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import numpy as np

from .base import DatasetFormatError, ImageDataset, check_choice

logger = logging.getLogger(__name__)

FOLDER = "cifar-10-batches-py"
SPLIT_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
META_FILE = "batches.meta"

# What an ndarray pickle names, under NumPy 1's module and NumPy 2's.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler whose only globals are the ones a numpy array needs."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DatasetFormatError(
                f"refusing to unpickle {module}.{name}: a CIFAR batch holds only numpy "
                f"arrays, lists, bytes and numbers."
            ) from None


def safe_unpickle(data: bytes, source: str) -> dict:
    """Unpickle a CIFAR batch (``encoding="bytes"``) that must be a dict."""
    try:
        obj = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except DatasetFormatError as exc:
        raise DatasetFormatError(f"{source}: {exc}") from None
    except Exception as exc:  # a truncated or foreign file fails in many ways
        raise DatasetFormatError(f"{source} is not a readable pickle: {exc}") from exc
    if not isinstance(obj, dict):
        raise DatasetFormatError(f"{source} should hold a dict; got {type(obj).__name__}.")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


@contextmanager
def _open_batches(path: Path) -> Iterator[Callable[[str], bytes]]:
    """Yield a function from a batch's file name to its bytes (folder or tarball)."""
    if path.is_dir():
        folder = path / FOLDER if (path / FOLDER).is_dir() else path

        def read_file(name: str) -> bytes:
            file = folder / name
            if not file.is_file():
                raise FileNotFoundError(f"{file} not found (expected a {FOLDER} folder).")
            return file.read_bytes()

        yield read_file
        return
    try:
        tar = tarfile.open(path, "r:*")
    except tarfile.ReadError as exc:
        raise DatasetFormatError(f"{path} is neither a folder nor a tar archive.") from exc
    with tar:
        # Regular files only, read into memory: nothing is extracted.
        members = {PurePosixPath(m.name).name: m for m in tar.getmembers() if m.isfile()}

        def read_member(name: str) -> bytes:
            fh = tar.extractfile(members[name]) if name in members else None
            if fh is None:
                raise FileNotFoundError(f"{name} not found in {path}.")
            return fh.read()

        yield read_member


def _batch(batch: dict, source: str) -> tuple[np.ndarray, np.ndarray]:
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetFormatError(f"{source}: 'data' must be uint8 (N, 3072); got {got}.")
    labels = np.asarray(labels) if isinstance(labels, list | np.ndarray) else None
    if labels is None or labels.dtype.kind not in "iu" or labels.shape != (len(data),):
        got = "nothing" if labels is None else f"{labels.dtype} {labels.shape}"
        raise DatasetFormatError(f"{source}: 'labels' must be {len(data)} ints; got {got}.")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # rows are channel-first
    return images, labels.astype(np.int64)


def load_cifar10(path, split: str = "test", name: str | None = None) -> ImageDataset:
    """CIFAR-10 from its python batches: images (N, 32, 32, 3) uint8.

    Parameters
    ----------
    path : path-like
        The ``cifar-10-batches-py`` folder, a folder holding it, or the
        ``cifar-10-python.tar.gz`` archive (read in memory, never extracted).
    split : {"test", "train"}, default "test"
        ``test_batch`` (10,000 images) or ``data_batch_1`` .. ``data_batch_5`` (50,000).
    name : str, optional
        Defaults to ``"cifar10-<split>"``.

    Examples
    --------
    >>> ds = load_cifar10("cifar-10-python.tar.gz", split="train")  # doctest: +SKIP
    >>> ds.images.shape, ds.classes[:2]  # doctest: +SKIP
    ((50000, 32, 32, 3), ['airplane', 'automobile'])
    """
    check_choice(split, tuple(SPLIT_FILES), "split")
    path = Path(path)
    with _open_batches(path) as read:
        meta = safe_unpickle(read(META_FILE), f"{path}:{META_FILE}")
        batches = {f: safe_unpickle(read(f), f"{path}:{f}") for f in SPLIT_FILES[split]}
    names = meta.get("label_names")
    if not isinstance(names, list) or not all(isinstance(n, bytes | str) for n in names):
        raise DatasetFormatError(f"{path}:{META_FILE}: 'label_names' must be a list of names.")
    classes = [n.decode() if isinstance(n, bytes) else n for n in names]
    parts = [_batch(batch, f"{path}:{f}") for f, batch in batches.items()]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    dataset = ImageDataset(images, labels, classes, name or f"cifar10-{split}")
    logger.info("loaded %d CIFAR-10 %s images from %s", len(dataset), split, path)
    return dataset
