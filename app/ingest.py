"""The service's one entry for uploaded datasets: tell the format, load within limits, describe.

Each format is checked by the library loader that reads it
(:func:`~deepclsmote.datasets.load_image_folder` for a zip of class folders,
:func:`~deepclsmote.datasets.load_npz`, :func:`~deepclsmote.datasets.load_csv`),
called here with the service's limits; this module adds only what the service
itself asks of a dataset (two classes, an image count, sides the sampler takes)
and turns every refusal into an :class:`UploadError`. It knows nothing of HTTP.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath

from deepclsmote._validation import check_images
from deepclsmote.datasets import ImageDataset, load_csv, load_image_folder, load_npz

logger = logging.getLogger(__name__)

MiB = 1 << 20

# Leading bytes of formats people upload by mistake, so the refusal can say what arrived.
_FOREIGN_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a single PNG image",
    b"\xff\xd8\xff": "a single JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip file",
    b"BZh": "a bzip2 file",
    b"\xfd7zXZ": "an xz file",
    b"7z\xbc\xaf": "a 7z archive",
    b"Rar!": "a RAR archive",
    b"\x93NUMPY": "a single .npy array",
    b"\x80": "a Python pickle",
}
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_EXPECTED = ("a .zip of class folders of PNG, JPEG, BMP or PPM/PGM images, an .npz with "
             "'images' and 'labels' (or 'X' and 'y'), or a CSV of label,pixel... rows")


class UploadError(Exception):
    """An upload the service refuses: ``code`` for programs, ``message`` for a person.

    Codes: ``empty_upload``, ``upload_too_large``, ``unsupported_format``,
    ``invalid_dataset`` (the loader refused the content: unsafe or corrupt
    archive, bad image, bad array, bad CSV row...), ``too_many_images``,
    ``too_few_classes``, ``image_size``.
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
        Most pixels (height x width) of one image, checked before it is decoded.
        The default, 4 x 64 x 64, lets an image somewhat over the sampler's
        64 x 64 be read and refused with ``image_size``, which says what to do.
    max_images : int
        Most images in the dataset.
    max_total_bytes : int
        Most bytes a zip's members may declare in all, and most bytes the
        decoded images (or a CSV's parsed values) may take.
    """

    max_bytes: int = 512 * MiB
    max_entries: int = 200_000
    max_ratio: float = 200.0
    max_pixels: int = 4 * 64 * 64
    max_images: int = 200_000
    max_total_bytes: int = 1024 * MiB

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not value > 0:
                raise ValueError(f"UploadLimits.{field.name} must be positive; got {value!r}.")


def _display_name(filename: str) -> str:
    """The uploaded file's base name, whatever folders or separators the client sent."""
    return PurePosixPath(filename.replace("\\", "/")).name or "upload"


def sniff_format(path: Path, filename: str) -> str:
    """``"zip"``, ``"npz"`` or ``"csv"``: from the leading bytes first, then the file name.

    An ``.npz`` is itself a zip; it is told apart by its members, which all end
    in ``.npy``. Anything else raises :class:`UploadError` (``empty_upload`` or
    ``unsupported_format``) saying what the file looks like.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    shown = _display_name(filename)
    if not head:
        raise UploadError("empty_upload", f"{shown} is empty.")
    if head.startswith(_ZIP_MAGIC):
        return "npz" if _holds_only_npy(path, shown) else "zip"
    found = next((what for magic, what in _FOREIGN_MAGIC.items() if head.startswith(magic)), None)
    if found is None and len(head) > 262 and head[257:262] == b"ustar":
        found = "a tar archive"
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


def read_upload(path: Path, filename: str, limits: UploadLimits) -> ImageDataset:
    """The dataset in an uploaded file, or an :class:`UploadError` saying why not.

    Parameters
    ----------
    path : Path
        Where the upload was saved.
    filename : str
        The name the client gave it; only its base name is used, to tell the
        format and to name the file in messages (instead of ``path``).
    limits : UploadLimits

    Examples
    --------
    >>> ds = read_upload(Path("/tmp/u1"), "cats-and-dogs.zip", UploadLimits())  # doctest: +SKIP
    >>> manifest(ds)["classes"]  # doctest: +SKIP
    [{'name': 'cat', 'count': 120}, {'name': 'dog', 'count': 12}]
    """
    shown = _display_name(filename)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise UploadError("upload_too_large", f"{shown} is {size} bytes, more than the limit "
                                              f"of {limits.max_bytes}.")
    fmt = sniff_format(path, filename)  # an empty file stops here
    try:
        ds = _load(fmt, path, PurePosixPath(shown).stem, limits)
    except ValueError as exc:  # DatasetFormatError, and any other complaint about the content
        message = str(exc).replace(str(path), shown)
        raise UploadError("invalid_dataset", message) from exc
    _check_dataset(ds, shown, limits)
    logger.info("accepted upload %s: %s", shown, ds)
    return ds


def _load(fmt: str, path: Path, name: str, limits: UploadLimits) -> ImageDataset:
    if fmt == "csv":
        return load_csv(path, name=name, max_pixels=limits.max_pixels,
                        max_total_bytes=limits.max_total_bytes)
    loader = load_npz if fmt == "npz" else load_image_folder
    return loader(path, name=name, max_entries=limits.max_entries, max_ratio=limits.max_ratio,
                  max_total_bytes=limits.max_total_bytes, max_pixels=limits.max_pixels)


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
        raise UploadError("image_size", f"{shown}: {exc}") from exc


def manifest(ds: ImageDataset) -> dict:
    """A JSON-ready summary: image count and shape, images per class, imbalance ratio.

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
    }


__all__ = ["UploadError", "UploadLimits", "manifest", "read_upload", "sniff_format"]
