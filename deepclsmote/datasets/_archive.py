"""Opening zip archives (image folders and ``.npz`` files) within resource limits.

Every member is checked before anything is decompressed: no links, absolute
paths, ``..``, backslashes, nested archives or encryption; and the declared
sizes, which :mod:`zipfile` enforces while reading, bound what the archive can
expand to.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from .base import DatasetFormatError

#: Default limits: generous for real image datasets, far below what would exhaust a machine.
MAX_ENTRIES = 200_000
MAX_RATIO = 200.0
MAX_TOTAL_BYTES = 2 << 30

# Members this small may compress far (a flat BMP does 250x) yet cannot make a
# bomb on their own; their sum is still bounded by max_total_bytes.
_RATIO_MIN_BYTES = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
NESTED_SUFFIXES = frozenset({".zip", ".npz", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z",
                             ".rar", ".zst"})
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# What reading a damaged member raises (bad CRC, corrupt or truncated deflate data).
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError)


def check_member(info: zipfile.ZipInfo, source: str, max_ratio: float | None) -> None:
    """Refuse a member that could escape its folder, hide an archive, or expand too far.

    Encrypted members and compression other than stored or deflated are refused too.
    """
    name = info.filename
    if not name:
        raise DatasetFormatError(f"{source}: a member has an empty name; refused.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DatasetFormatError(f"{source}: member {name!r} is a symbolic link; refused.")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise DatasetFormatError(f"{source}: member {name!r} is an absolute path; refused.")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise DatasetFormatError(f"{source}: member {name!r} contains '..'; refused.")
    if "\\" in name:
        raise DatasetFormatError(f"{source}: member {name!r} contains a backslash; zip paths "
                                 f"must use '/'. Refused.")
    if info.flag_bits & 0x1:
        raise DatasetFormatError(f"{source}: member {name!r} is encrypted; refused.")
    if info.compress_type not in _METHODS:
        raise DatasetFormatError(f"{source}: member {name!r} uses compression method "
                                 f"{info.compress_type}; only stored and deflated members are "
                                 f"supported.")
    if not info.is_dir() and PurePosixPath(name).suffix.lower() in NESTED_SUFFIXES:
        raise DatasetFormatError(f"{source}: member {name!r} is an archive inside the archive; "
                                 f"nested archives are refused, unpack it first.")
    ratio = info.file_size / max(info.compress_size, 1)
    if max_ratio is not None and info.file_size > _RATIO_MIN_BYTES and ratio > max_ratio:
        raise DatasetFormatError(
            f"{source}: member {name!r} expands {ratio:.0f}-fold ({info.compress_size} to "
            f"{info.file_size} bytes), more than max_ratio={max_ratio:g}; refused as a zip bomb."
        )


def check_archive(
    infos: list[zipfile.ZipInfo],
    source: str,
    *,
    max_entries: int | None,
    max_ratio: float | None,
    max_total_bytes: int | None,
) -> None:
    """Check every member, then the archive's entry count, total size and overall ratio.

    A limit of ``None`` is not checked.
    """
    if max_entries is not None and len(infos) > max_entries:
        raise DatasetFormatError(f"{source} holds {len(infos)} entries, more than "
                                 f"max_entries={max_entries}; refused.")
    for info in infos:
        check_member(info, source, max_ratio)
    total = sum(i.file_size for i in infos)
    packed = max(sum(i.compress_size for i in infos), 1)
    if max_total_bytes is not None and total > max_total_bytes:
        raise DatasetFormatError(f"{source} expands to {total} bytes, more than "
                                 f"max_total_bytes={max_total_bytes}; refused.")
    if max_ratio is not None and total > _RATIO_MIN_BYTES and total / packed > max_ratio:
        raise DatasetFormatError(
            f"{source} expands {total / packed:.0f}-fold overall ({packed} to {total} bytes), "
            f"more than max_ratio={max_ratio:g}; refused as a zip bomb."
        )


@contextmanager
def open_zip(path: Path, **limits) -> Iterator[zipfile.ZipFile]:
    """The zip at ``path``, its members checked with :func:`check_archive` (``limits``).

    A damaged archive, found while opening or while reading members inside
    the ``with`` block, raises :class:`DatasetFormatError`.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetFormatError(f"{path} is not a readable zip archive: {exc}") from exc
    with archive:
        check_archive(archive.infolist(), str(path), **limits)
        try:
            yield archive
        except READ_ERRORS as exc:
            raise DatasetFormatError(f"{path}: a member could not be read: {exc}") from exc
