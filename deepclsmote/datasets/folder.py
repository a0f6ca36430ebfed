"""Image folders, ``<class>/<image>``, as a directory or a ``.zip`` (read in place)."""

from __future__ import annotations

import logging
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np

from . import _pillow
from .base import DatasetFormatError, ImageDataset, check_choice, check_size

logger = logging.getLogger(__name__)

_DRIVE = re.compile(r"^[A-Za-z]:")


def _is_image(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return (PurePosixPath(rel).suffix.lower() in _pillow.IMAGE_SUFFIXES
            and not any(p.startswith(".") or p == "__MACOSX" for p in parts))


def _check_member(info: zipfile.ZipInfo, archive: Path) -> None:
    """Refuse a zip member that is a link, an absolute path or climbs out with ``..``."""
    name = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DatasetFormatError(f"{archive}: member {name!r} is a symbolic link; refused.")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise DatasetFormatError(f"{archive}: member {name!r} is an absolute path; refused.")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise DatasetFormatError(f"{archive}: member {name!r} contains '..'; refused.")


@contextmanager
def _open_tree(path: Path) -> Iterator[tuple[list[str], Callable[[str], IO[bytes]]]]:
    """Yield the image files' relative paths and a function that opens one."""
    if path.is_dir():
        rels = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
        yield [r for r in rels if _is_image(r)], lambda rel: (path / rel).open("rb")
        return
    if not zipfile.is_zipfile(path):
        raise DatasetFormatError(f"{path} is neither a directory nor a zip archive.")
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        for info in infos:
            _check_member(info, path)
        rels = [i.filename for i in infos if not i.is_dir() and _is_image(i.filename)]
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


def load_image_folder(
    path,
    size: tuple[int, int] | None = None,
    mode: str | None = None,
    name: str | None = None,
) -> ImageDataset:
    """Images sorted into one folder per class, as a directory or a ``.zip``.

    Classes are the sorted folder names; images are read in sorted order within
    each class. A zip may wrap everything in one top-level folder
    (``test/<class>/<image>``). Files other than PNG, JPEG, PPM/PGM/PBM and BMP,
    and hidden ones, are ignored. Zip members are read in memory; an archive
    holding a symbolic link, an absolute path or ``..`` is refused.

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
        palettes are expanded and alpha channels dropped (not composited), and
        all images must end up in the same mode.
    name : str, optional
        Defaults to the directory's or archive's stem.

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
    with _open_tree(path) as (rels, open_file):
        classes, items = _layout(rels, path)
        first: tuple[str, str, tuple[int, int]] | None = None
        for rel, _ in items:
            source = f"{path}/{rel}" if path.is_dir() else f"{path}:{rel}"
            with open_file(rel) as fh:
                image = _pillow.to_mode(_pillow.open_image(fh, source), mode, source)
            shape = (image.height, image.width)
            if first is None:
                first = (source, image.mode, shape)
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
