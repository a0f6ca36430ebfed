"""Image folders, ``<class>/<image>``, as a directory or a ``.zip`` (read in place)."""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np

from . import _archive, _pillow
from ._archive import MAX_ENTRIES, MAX_RATIO, MAX_TOTAL_BYTES
from ._pillow import MAX_PIXELS
from .base import DatasetFormatError, ImageDataset, check_choice, check_size

logger = logging.getLogger(__name__)


def _is_image(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return (PurePosixPath(rel).suffix.lower() in _pillow.IMAGE_SUFFIXES
            and not any(p.startswith(".") or p == "__MACOSX" for p in parts))


@contextmanager
def _open_tree(path: Path, **limits) -> Iterator[tuple[list[str], Callable[[str], IO[bytes]]]]:
    """Yield the image files' relative paths and a function that opens one.

    A zip's members are checked first, within ``limits`` (see :mod:`._archive`).
    """
    if path.is_dir():
        rels = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
        yield [r for r in rels if _is_image(r)], lambda rel: (path / rel).open("rb")
        return
    if not zipfile.is_zipfile(path):
        raise DatasetFormatError(f"{path} is neither a directory nor a zip archive.")
    with _archive.open_zip(path, **limits) as archive:
        rels = [i.filename for i in archive.infolist() if not i.is_dir() and _is_image(i.filename)]
        yield rels, archive.open


def _layout(rels: list[str], source: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """Class names and ``(file, label)`` pairs, after dropping one wrapper folder."""
    if not rels:
        raise DatasetFormatError(f"no images (PNG, JPEG, PPM/PGM, BMP) found in {source}.")
    parts = [PurePosixPath(r).parts for r in rels]
    if all(len(p) == 3 for p in parts) and len({p[0] for p in parts}) == 1:
        parts = [p[1:] for p in parts]  # a wrapper such as test/<class>/<image>
    for rel, p in zip(rels, parts, strict=True):
        if len(p) != 2:
            raise DatasetFormatError(
                f"{source}: expected <class>/<image> (under at most one wrapper folder); "
                f"got {rel!r}."
            )
    classes = sorted({p[0] for p in parts})
    index = {c: i for i, c in enumerate(classes)}
    items = sorted((index[p[0]], p[1], rel) for rel, p in zip(rels, parts, strict=True))
    return classes, [(rel, label) for label, _, rel in items]


def _check_decoded_size(n_images: int, shape: tuple[int, int], mode: str,
                        max_total_bytes: int | None, source: Path) -> None:
    """Refuse, before decoding them all, images that would take more than ``max_total_bytes``."""
    nbytes = n_images * math.prod(shape) * (3 if mode == "RGB" else 1)
    if max_total_bytes is not None and nbytes > max_total_bytes:
        raise DatasetFormatError(
            f"{source}: {n_images} {mode} images of {shape[0]}x{shape[1]} pixels would take "
            f"{nbytes} bytes once decoded, more than max_total_bytes={max_total_bytes}; refused."
        )


def load_image_folder(
    path,
    size: tuple[int, int] | None = None,
    mode: str | None = None,
    name: str | None = None,
    *,
    max_entries: int | None = MAX_ENTRIES,
    max_ratio: float | None = MAX_RATIO,
    max_total_bytes: int | None = MAX_TOTAL_BYTES,
    max_pixels: int | None = MAX_PIXELS,
) -> ImageDataset:
    """Images sorted into one folder per class, as a directory or a ``.zip``.

    Classes are the sorted folder names; images are read in sorted order within
    each class. A zip may wrap everything in one top-level folder
    (``test/<class>/<image>``). Files other than PNG, JPEG, PPM/PGM/PBM and BMP,
    and hidden ones, are ignored. Zip members are read in memory.

    Untrusted archives are safe to load: one holding a symbolic link, an
    absolute path, ``..``, a backslash, a nested archive (``.zip``, ``.tar``,
    ``.gz``, ``.7z``, ``.rar``...) or an encrypted member is refused, and so is
    one past the limits below, before anything is decompressed. Each image's
    size is checked against ``max_pixels`` before it is decoded. Every refusal
    raises :class:`DatasetFormatError` naming the archive and member.

    Parameters
    ----------
    path : path-like
        The directory or zip archive.
    size : (int, int), optional
        Resize every image to ``(height, width)`` (bilinear). Without it all
        images must share one size.
    mode : {"L", "RGB"}, optional
        Convert every image to grey or colour. Without it, grey images (``1``,
        ``L``, ``LA``) stay grey (N, H, W) and others become RGB (N, H, W, 3):
        palettes are expanded to RGB and alpha channels dropped (not
        composited), and all images must end up in the same mode. 16-bit grey
        images are refused (Pillow itself reduces 16-bit colour to 8 bits).
    name : str, optional
        Defaults to the directory's or archive's stem.
    max_entries : int or None, default 200_000
        Most entries (files and folders) a zip may list.
    max_ratio : float or None, default 200
        Most a zip member, or the whole zip, may expand (uncompressed size
        over compressed size); members under 1 MiB are not checked alone.
    max_total_bytes : int or None, default 2 GiB
        Most bytes a zip's members may declare in all, and most bytes the
        decoded images may take (checked after the first image, before the rest).
    max_pixels : int or None, default 4096 * 4096
        Most pixels (width x height) of one image.

    ``None`` turns a limit off; the zip limits do not apply to directories.

    Examples
    --------
    >>> ds = load_image_folder("cifar10-test-jpg.zip")  # doctest: +SKIP
    >>> ds.images.shape, ds.classes[0]  # doctest: +SKIP
    ((10000, 32, 32, 3), 'airplane')
    """
    path = Path(path)
    target = check_size(size) if size is not None else None
    if mode is not None:
        check_choice(mode, ("L", "RGB"), "mode")
    arrays = []
    with _open_tree(path, max_entries=max_entries, max_ratio=max_ratio,
                    max_total_bytes=max_total_bytes) as (rels, open_file):
        classes, items = _layout(rels, path)
        first: tuple[str, str, tuple[int, int]] | None = None
        for rel, _ in items:
            source = f"{path}/{rel}" if path.is_dir() else f"{path}:{rel}"
            try:
                with open_file(rel) as fh:
                    image = _pillow.open_image(fh, source, max_pixels)
            except _archive.READ_ERRORS as exc:
                raise DatasetFormatError(f"{source} could not be read from the archive: "
                                         f"{exc}") from exc
            image = _pillow.to_mode(image, mode, source)
            shape = (image.height, image.width)
            if first is None:
                first = (source, image.mode, shape)
                _check_decoded_size(len(items), target or shape, image.mode, max_total_bytes,
                                    path)
            elif image.mode != first[1] or (target is None and shape != first[2]):
                raise DatasetFormatError(
                    f"{source} is {image.mode} {shape} but {first[0]} is {first[1]} {first[2]}; "
                    f"images must share one size and mode (pass size=(H, W) to resize, "
                    f"mode='L' or 'RGB' to convert)."
                )
            arrays.append(_pillow.to_array(_pillow.resize(image, target) if target else image))
    labels = np.array([label for _, label in items], dtype=np.int64)
    dataset = ImageDataset(np.stack(arrays), labels, classes, name or path.stem)
    logger.info("loaded %d images in %d classes from %s", len(dataset), len(classes), path)
    return dataset
