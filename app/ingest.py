"""The service's one entry for uploaded datasets: tell the format, load within limits, describe.

Each format is checked by the library loader that reads it
(:func:`~deepclsmote.datasets.load_image_folder` for a zip or tar of class
folders, :func:`~deepclsmote.datasets.load_idx_archive` for one of IDX files,
:func:`~deepclsmote.datasets.load_npz`, :func:`~deepclsmote.datasets.load_csv`),
called here with the service's limits and the upload's :class:`UploadOptions`;
this module adds only what the service itself asks of a dataset (two
classes, an image count, sides the sampler takes), says which options apply
to which format, and turns every refusal into an :class:`UploadError` whose
advice names the upload options. It knows nothing of HTTP.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

from deepclsmote._validation import MAX_SIDE, MIN_SIDE, check_images
from deepclsmote.datasets import (
    ImageDataset,
    NeedsOption,
    load_csv,
    load_idx_archive,
    load_image_folder,
    load_npz,
)
from deepclsmote.datasets._archive import tar_compression
from deepclsmote.datasets.registry import archive_loader

logger = logging.getLogger(__name__)

MiB = 1 << 20

# Leading bytes of formats people upload by mistake, so the refusal can say what arrived.
_FOREIGN_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a single PNG image",
    b"\xff\xd8\xff": "a single JPEG image",
    b"GIF8": "a GIF image",
    b"RIFF": "a single WebP image (or another RIFF file)",
    b"II*\x00": "a single TIFF image",
    b"MM\x00*": "a single TIFF image",
    b"\x1f\x8b": "a gzip file that is not a gzipped tar archive",
    b"BZh": "a bzip2 file",
    b"\xfd7zXZ": "an xz file",
    b"7z\xbc\xaf": "a 7z archive",
    b"Rar!": "a RAR archive",
    b"\x93NUMPY": "a single .npy array",
    b"\x80": "a Python pickle",
}
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_EXPECTED = ("a .zip, .tar, .tar.gz or .tgz of class folders of PNG, JPEG, BMP, PPM/PGM, "
             "TIFF or WebP images (or of MNIST's IDX files), an .npz with 'images' and "
             "'labels' (or 'X' and 'y'), or a CSV of label,pixel... rows")


class UploadError(Exception):
    """An upload the service refuses: ``code`` for programs, ``message`` for a person.

    Codes: ``empty_upload``, ``upload_too_large``, ``unsupported_format``,
    ``invalid_dataset`` (the loader refused the content: unsafe or corrupt
    archive, bad image, bad array, bad CSV row...), ``option_needed`` (an
    upload option would let it through: images of several sizes or modes, an
    image too large to decode whole, a CSV whose header cannot be told),
    ``option_not_applicable`` (an option the format does not have),
    ``too_many_images``, ``too_few_classes``, ``image_size``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may cost; every limit is checked before the work it bounds.

    Attributes
    ----------
    max_bytes : int
        Most bytes of the uploaded file itself.
    max_entries : int
        Most entries a zip (or ``.npz``) may list.
    max_ratio : float
        Most a zip member, or a whole zip, may expand when decompressed.
    max_pixels : int
        Most pixels (height x width) of one image, checked before it is
        decoded, when the upload gives no ``size``. The default, 4 x 128 x 128,
        lets an image somewhat over the sampler's 128 x 128 be read and refused
        with ``image_size``, which says what to do.
    max_source_pixels : int
        The same, when the upload gives a ``size``: images are then decoded
        reduced, one at a time, so this bounds one decode, not the dataset.
    max_images : int
        Most images in the dataset.
    max_total_bytes : int
        Most bytes a zip's members may declare in all, and most bytes the
        decoded images (or a CSV's parsed values) may take.
    """

    max_bytes: int = 512 * MiB
    max_entries: int = 200_000
    max_ratio: float = 200.0
    max_pixels: int = 4 * 128 * 128
    max_source_pixels: int = 1 << 26
    max_images: int = 200_000
    max_total_bytes: int = 1024 * MiB

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not value > 0:
                raise ValueError(f"UploadLimits.{field.name} must be positive; got {value!r}.")


@dataclass(frozen=True)
class UploadOptions:
    """How to read an upload; ``None`` leaves the choice to the loader.

    Attributes
    ----------
    size : (int, int) or None
        (height, width) to resize every image to.
    mode : {"L", "RGB"} or None
    fit : {"stretch", "crop", "pad"} or None
        How ``size`` meets another aspect ratio (the loaders' default: stretch).
    split : {"train", "test", "all"} or None
        Which part of a train/test layout to read (default: all).
    header : bool or None
        Whether a CSV's first row is a header (default: told from the file).
    """

    size: tuple[int, int] | None = None
    mode: str | None = None
    fit: str | None = None
    split: str | None = None
    header: bool | None = None

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


#: The formats each option applies to (the others apply to every format).
_APPLIES = {"split": ("zip", "tar", "idx"), "header": ("csv",)}
_FORMAT_NAMES = {"zip": "a zip of images", "tar": "a tar of images", "idx": "an archive of "
                 "IDX files", "npz": "an .npz", "csv": "a CSV file"}
#: Advice, per loader option, in the upload's own terms.
_ADVICE = {
    "size": "size=HxW (such as size=64x64) to resize every image, large ones decoded reduced "
            "(fit=stretch, crop or pad says how another aspect ratio meets it)",
    "mode": "mode=L or mode=RGB to convert every image to grey or colour",
    "header": "header=true (the first row is a header) or header=false (it is an image)",
}


def _display_name(filename: str) -> str:
    """The uploaded file's base name, whatever folders or separators the client sent."""
    return PurePosixPath(filename.replace("\\", "/")).name or "upload"


def sniff_format(path: Path, filename: str) -> str:
    """``"zip"``, ``"tar"``, ``"npz"`` or ``"csv"``: from the leading bytes, then the file name.

    An ``.npz`` is itself a zip; it is told apart by its members, which all end
    in ``.npy``. A tar may be gzipped. Anything else raises
    :class:`UploadError` (``empty_upload`` or ``unsupported_format``) saying
    what the file looks like.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    shown = _display_name(filename)
    if not head:
        raise UploadError("empty_upload", f"{shown} is empty.")
    if head.startswith(_ZIP_MAGIC):
        return "npz" if _holds_only_npy(path, shown) else "zip"
    if tar_compression(path) is not None:
        return "tar"
    found = next((what for magic, what in _FOREIGN_MAGIC.items() if head.startswith(magic)), None)
    if found is None:
        if shown.lower().endswith(".csv") or _looks_like_csv(head):
            return "csv"
        found = "neither a zip archive nor comma-separated text"
    raise UploadError("unsupported_format", f"{shown} is {found}; upload {_EXPECTED}.")


def _holds_only_npy(path: Path, shown: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir()]
    except zipfile.BadZipFile:  # the loader says what is wrong; trust the name meanwhile
        return shown.lower().endswith(".npz")
    return bool(names) and all(n.endswith(".npy") for n in names)


def _looks_like_csv(head: bytes) -> bool:
    try:
        first = head.decode("utf-8-sig").splitlines()[0]
    except (UnicodeDecodeError, IndexError):  # a multi-byte character cut at 4096 bytes, too
        return False
    return "," in first and first.isprintable()


def read_upload(path: Path, filename: str, limits: UploadLimits,
                options: UploadOptions | None = None) -> tuple[str, ImageDataset]:
    """The format and dataset in an uploaded file, or an :class:`UploadError` saying why not.

    Parameters
    ----------
    path : Path
        Where the upload was saved.
    filename : str
        The name the client gave it; only its base name is used, to tell the
        format and to name the file in messages (instead of ``path``).
    limits : UploadLimits
    options : UploadOptions, optional

    Returns
    -------
    format : {"zip", "tar", "idx", "npz", "csv"}
    dataset : ImageDataset
        Its ``conversions`` list every change made on the way in.

    Examples
    --------
    >>> fmt, ds = read_upload(Path("/tmp/u1"), "cats-and-dogs.zip", UploadLimits(),
    ...                       UploadOptions(size=(64, 64)))  # doctest: +SKIP
    >>> manifest(ds)["classes"]  # doctest: +SKIP
    [{'name': 'cat', 'count': 120}, {'name': 'dog', 'count': 12}]
    """
    options = options or UploadOptions()
    shown = _display_name(filename)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise UploadError("upload_too_large", f"{shown} is {size} bytes, more than the limit "
                                              f"of {limits.max_bytes}.")
    fmt = sniff_format(path, filename)  # an empty file stops here
    try:
        fmt, loader = _loader(fmt, path, shown)
        _check_applies(fmt, options, shown)
        ds = loader(path, name=PurePosixPath(shown).stem, **options.given(),
                    **_limits(fmt, limits, options))
    except NeedsOption as exc:
        advice = " or ".join(_ADVICE[o] for o in exc.options)
        raise UploadError("option_needed", f"{_shown(exc.facts, path, shown)}. Give the "
                                           f"upload option {advice}.") from exc
    except ValueError as exc:  # DatasetFormatError, and any other complaint about the content
        raise UploadError("invalid_dataset", _shown(str(exc), path, shown)) from exc
    _check_dataset(ds, shown, limits)
    logger.info("accepted upload %s: %s", shown, ds)
    return fmt, ds


def _shown(message: str, path: Path, shown: str) -> str:
    return message.replace(str(path), shown)


def _loader(fmt: str, path: Path, shown: str) -> tuple[str, Callable[..., ImageDataset]]:
    """The format, made precise for archives (images or IDX files), and its loader."""
    if fmt == "csv":
        return fmt, load_csv
    if fmt == "npz":
        return fmt, load_npz
    loader = archive_loader(path)
    if loader is load_idx_archive:
        return "idx", loader
    if loader is not load_image_folder:
        raise UploadError("unsupported_format", f"{shown} holds CIFAR-10's python batches, "
                                                f"which the service does not read; upload "
                                                f"{_EXPECTED}.")
    return fmt, loader


def _check_applies(fmt: str, options: UploadOptions, shown: str) -> None:
    """Refuse an option the format does not have, rather than ignore it."""
    for option, formats in _APPLIES.items():
        if getattr(options, option) is not None and fmt not in formats:
            where = " or ".join(_FORMAT_NAMES[f] for f in formats)
            raise UploadError("option_not_applicable",
                              f"the upload option {option} does not apply to {shown}, "
                              f"{_FORMAT_NAMES[fmt]}; it applies to {where}.")
    if options.fit is not None and options.size is None:
        raise UploadError("option_not_applicable", "the upload option fit applies only with "
                                                   "size=HxW, which it says how to meet.")


def _limits(fmt: str, limits: UploadLimits, options: UploadOptions) -> dict[str, Any]:
    pixels = limits.max_source_pixels if options.size is not None else limits.max_pixels
    if fmt == "csv":
        return {"max_pixels": pixels, "max_total_bytes": limits.max_total_bytes}
    archive = {"max_entries": limits.max_entries, "max_ratio": limits.max_ratio,
               "max_total_bytes": limits.max_total_bytes}
    return archive if fmt == "idx" else {**archive, "max_pixels": pixels}


def _check_dataset(ds: ImageDataset, shown: str, limits: UploadLimits) -> None:
    """What the service asks beyond a well-formed dataset."""
    if len(ds) > limits.max_images:
        raise UploadError("too_many_images", f"{shown} holds {len(ds)} images, more than the "
                                             f"limit of {limits.max_images}.")
    present = [c for c, n in zip(ds.classes, ds.counts().tolist(), strict=True) if n]
    if len(present) < 2:
        raise UploadError("too_few_classes", f"{shown} holds images of {len(present)} class(es) "
                                             f"{present}; oversampling needs at least 2.")
    try:
        check_images(ds.images[:1])  # the sampler's own check of image sides
    except ValueError as exc:
        height, width = ds.images.shape[1:3]
        raise UploadError("image_size", f"{shown}: images are {height}x{width} pixels; jobs "
                                        f"take {MIN_SIDE} to {MAX_SIDE} pixels a side. Give "
                                        f"the upload option {_ADVICE['size']}.") from exc


def manifest(ds: ImageDataset) -> dict:
    """A JSON-ready summary: image count and shape, images per class, imbalance ratio and
    the conversions made on the way in.

    ``imbalance_ratio`` is the largest class count over the smallest non-empty
    one (1.0 with fewer than two non-empty classes); classes without images are
    listed with count 0.

    Examples
    --------
    >>> import numpy as np
    >>> ds = ImageDataset(np.zeros((3, 8, 8), np.uint8), np.array([0, 1, 1]), ["a", "b"], "t")
    >>> manifest(ds)["imbalance_ratio"]
    2.0
    """
    counts = ds.counts()
    present = counts[counts > 0]
    return {
        "n_images": len(ds),
        "image_shape": list(ds.images.shape[1:]),
        "classes": [{"name": c, "count": int(n)} for c, n in zip(ds.classes, counts, strict=True)],
        "imbalance_ratio": float(present.max() / present.min()) if len(present) else 1.0,
        "conversions": [c.to_dict() for c in ds.conversions],
    }


__all__ = ["UploadError", "UploadLimits", "UploadOptions", "manifest", "read_upload",
           "sniff_format"]
