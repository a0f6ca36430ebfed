"""Image folders, ``<class>/<image>``, as a directory, a ``.zip`` or a tar (read in place)."""

from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np

from . import _archive, _pillow
from ._archive import MAX_ENTRIES, MAX_RATIO, MAX_TOTAL_BYTES
from ._pillow import MAX_PIXELS
from .base import (
    Conversion,
    DatasetFormatError,
    ImageDataset,
    NeedsOption,
    check_choice,
    check_fit,
    check_size,
)

logger = logging.getLogger(__name__)

#: Values of ``split``, for a tree of ``train/<class>/<image>`` and ``test/<class>/<image>``.
SPLITS = ("train", "test", "all")
# Folder names taken for a split, and the split each one is.
_SPLIT_FOLDERS = {"train": "train", "training": "train", "test": "test", "testing": "test",
                  "val": "val", "valid": "val", "validation": "val"}


def _skip_reason(rel: str) -> str | None:
    """Why a file is not read as an image, or None if it is one."""
    parts = PurePosixPath(rel).parts
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return "hidden files and macOS metadata"
    if PurePosixPath(rel).suffix.lower() not in _pillow.IMAGE_SUFFIXES:
        return f"not {_pillow.FORMAT_NAMES} images"
    return None


def _skipped(rels: list[str]) -> tuple[list[str], list[Conversion]]:
    """The image files among ``rels``, and a record of the others by reason."""
    by_reason: dict[str, list[str]] = {}
    images = []
    for rel in rels:
        reason = _skip_reason(rel)
        if reason is None:
            images.append(rel)
        else:
            by_reason.setdefault(reason, []).append(rel)
    notes = [Conversion("skipped", f"{len(files)} file(s) skipped, {reason}: "
                                   f"{', '.join(files[:3])}{', ...' if len(files) > 3 else ''}",
                        len(files)) for reason, files in by_reason.items()]
    return images, notes


def _split_layout(parts: list[tuple[str, ...]]) -> bool:
    """Whether every file sits at ``<split>/<class>/<image>``."""
    return all(len(p) == 3 and p[0].lower() in _SPLIT_FOLDERS for p in parts)


def _layout(rels: list[str], source: Path, split: str | None
            ) -> tuple[list[str], list[tuple[str, int]], list[Conversion]]:
    """Class names, ``(file, label)`` pairs and the split chosen, after one wrapper folder."""
    if not rels:
        raise DatasetFormatError(f"no images ({_pillow.FORMAT_NAMES}) found in {source}.")
    parts = [PurePosixPath(r).parts for r in rels]
    if (all(len(p) >= 3 for p in parts) and len({p[0] for p in parts}) == 1
            and not _split_layout(parts)):
        parts = [p[1:] for p in parts]  # a wrapper such as cifar10/<class>/<image>
    notes = []
    if _split_layout(parts):
        parts, rels, note = _choose_split(parts, rels, split, source)
        notes.append(note)
    elif split is not None:
        raise DatasetFormatError(f"{source} has no train/ and test/ folders (<split>/<class>/"
                                 f"<image>), so split={split!r} does not apply.")
    for rel, p in zip(rels, parts, strict=True):
        if len(p) != 2:
            raise DatasetFormatError(
                f"{source}: expected <class>/<image> (under at most one wrapper folder), or "
                f"train/<class>/<image> beside test/<class>/<image>; got {rel!r}."
            )
    classes = sorted({p[0] for p in parts})
    index = {c: i for i, c in enumerate(classes)}
    items = sorted((index[p[0]], p[1], rel) for rel, p in zip(rels, parts, strict=True))
    return classes, [(rel, label) for label, _, rel in items], notes


def _choose_split(parts: list[tuple[str, ...]], rels: list[str], split: str | None,
                  source: Path) -> tuple[list[tuple[str, ...]], list[str], Conversion]:
    """Keep the files of the split asked for (all by default); say what was read and left."""
    split = check_choice(split, SPLITS, "split") if split is not None else "all"
    counts = Counter(p[0] for p in parts)
    keep = {f for f in counts if split == "all" or _SPLIT_FOLDERS[f.lower()] == split}
    if not keep:
        raise DatasetFormatError(f"{source} has no {split}/ folder; it has "
                                 f"{', '.join(f'{f}/' for f in sorted(counts))}.")
    read = ", ".join(f"{f}/ ({counts[f]} images)" for f in sorted(keep))
    left = ", ".join(f"{f}/ ({counts[f]} images)" for f in sorted(set(counts) - keep))
    detail = f"split={split}: read {read}" + (f"; left out {left}" if left else "")
    chosen = [(p[1:], r) for p, r in zip(parts, rels, strict=True) if p[0] in keep]
    return [p for p, _ in chosen], [r for _, r in chosen], Conversion("split", detail)


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
    fit: str = "stretch",
    split: str | None = None,
    max_entries: int | None = MAX_ENTRIES,
    max_ratio: float | None = MAX_RATIO,
    max_total_bytes: int | None = MAX_TOTAL_BYTES,
    max_pixels: int | None = MAX_PIXELS,
) -> ImageDataset:
    """Images sorted into one folder per class, as a directory, a ``.zip`` or a tar.

    Classes are the sorted folder names; images are read in sorted order within
    each class. Everything may sit in one top-level folder
    (``cifar10/<class>/<image>``), and a tree may hold ``train/<class>/<image>``
    beside ``test/<class>/<image>`` (and ``val/``), of which ``split`` chooses.
    PNG, JPEG, PPM/PGM/PBM, BMP, TIFF and WebP files are read; other files and
    hidden ones are skipped, and the dataset's ``conversions`` say which. A
    tar may be gzipped (``.tar.gz``, ``.tgz``). Archives are read in place.

    Untrusted archives are safe to load: one holding a link, a device, an
    absolute path, ``..``, a backslash, a nested archive (``.zip``, ``.tar``,
    ``.gz``, ``.7z``, ``.rar``...) or an encrypted member is refused, and so is
    one past the limits below, before its members are read. Each image's
    size is checked against ``max_pixels`` before it is decoded. Every refusal
    raises :class:`DatasetFormatError` naming the archive and member.

    Parameters
    ----------
    path : path-like
        The directory, zip or tar archive.
    size : (int, int), optional
        Resize every image to ``(height, width)`` as ``fit`` says (bilinear,
        antialiased). Large images are decoded reduced first, one at a time
        (a JPEG at 1/2 to 1/8 of its size by its decoder), so a folder of
        photographs takes memory for the result, not for the photographs.
        Without it all images must share one size.
    mode : {"L", "RGB"}, optional
        Convert every image to grey or colour. Without it, grey images (``1``,
        ``L``, ``LA``) stay grey (N, H, W) and others become RGB (N, H, W, 3),
        and all images must end up in the same mode. Palettes are expanded;
        transparent pixels are composited onto white. 16-bit grey images are
        refused (Pillow itself reduces 16-bit colour to 8 bits).
    name : str, optional
        Defaults to the directory's or archive's stem.
    fit : {"stretch", "crop", "pad"}, default "stretch"
        With ``size``, how an image of another aspect ratio meets it: each
        side scaled to the size, scaled to cover it and the centre cut out, or
        scaled to fit inside and the rest filled with black.
    split : {"train", "test", "all"}, optional
        For a tree of split folders: which to read (default: all of them).
        Refused for a tree without them.
    max_entries : int or None, default 200_000
        Most entries (files and folders) an archive may list.
    max_ratio : float or None, default 200
        Most a zip member, or the whole zip or compressed tar, may expand
        (uncompressed size over compressed size); members under 1 MiB are not
        checked alone.
    max_total_bytes : int or None, default 2 GiB
        Most bytes an archive's members may declare in all, and most bytes the
        decoded images may take (checked after the first image, before the rest).
    max_pixels : int or None, default 8192 * 8192
        Most pixels (width x height) of one image as stored.

    ``None`` turns a limit off; the archive limits do not apply to directories.

    Examples
    --------
    >>> ds = load_image_folder("cifar10-test-jpg.zip")  # doctest: +SKIP
    >>> ds.images.shape, ds.classes[0]  # doctest: +SKIP
    ((10000, 32, 32, 3), 'airplane')
    >>> photos = load_image_folder("photos.tar.gz", size=(64, 64), fit="crop")  # doctest: +SKIP
    >>> [c.kind for c in photos.conversions]  # doctest: +SKIP
    ['resize']
    """
    path = Path(path)
    target = check_size(size) if size is not None else None
    if mode is not None:
        check_choice(mode, ("L", "RGB"), "mode")
    check_fit(fit)
    if split is not None:
        check_choice(split, SPLITS, "split")
    tally = _pillow.Tally(target, fit, mode)
    with _archive.open_archive(path, max_entries=max_entries, max_ratio=max_ratio,
                               max_total_bytes=max_total_bytes) as archive:
        rels, skipped = _skipped(archive.names)
        classes, items, split_notes = _layout(rels, path, split)
        arrays = _decode_all(archive, [rel for rel, _ in items], path, tally, target,
                             max_pixels, max_total_bytes)
    labels = np.array([label for _, label in items], dtype=np.int64)
    images = np.stack([arrays[rel] for rel, _ in items])
    final_mode = "L" if images.ndim == 3 else "RGB"
    conversions = (*split_notes, *tally.conversions(final_mode), *skipped)
    dataset = ImageDataset(images, labels, classes, name or _stem(path), conversions)
    logger.info("loaded %d images in %d classes from %s", len(dataset), len(classes), path)
    return dataset


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem


def _decode_all(archive: _archive.Archive, rels: list[str], path: Path, tally: _pillow.Tally,
                target: tuple[int, int] | None, max_pixels: int | None,
                max_total_bytes: int | None) -> dict[str, np.ndarray]:
    """Each image decoded, converted and resized, in the order the archive stores them."""
    arrays: dict[str, np.ndarray] = {}
    first: tuple[str, str, tuple[int, int]] | None = None
    for rel, fh in archive.open_each(rels):
        source = f"{path}/{rel}" if archive.kind == "directory" else f"{path}:{rel}"
        try:
            image, stored = _pillow.decode(fh, source, max_pixels, target)
            image = tally.convert(image, source, stored)
        except _archive.READ_ERRORS as exc:
            raise DatasetFormatError(f"{source} could not be read from the archive: "
                                     f"{exc}") from exc
        shape = (image.height, image.width)
        if first is None:
            first = (source, image.mode, shape)
            _check_decoded_size(len(rels), shape, image.mode, max_total_bytes, path)
        elif image.mode != first[1]:
            raise NeedsOption(f"{source} is {image.mode} but {first[0]} is {first[1]}; images "
                              f"must share one mode", ("mode",),
                              "pass mode='L' or mode='RGB' to convert every image.")
        elif shape != first[2]:
            raise NeedsOption(f"{source} is {image.mode} {shape} but {first[0]} is {first[1]} "
                              f"{first[2]} (height, width); images must share one size",
                              ("size",), "pass size=(H, W) to resize every image.")
        arrays[rel] = _pillow.to_array(image)
    return arrays

