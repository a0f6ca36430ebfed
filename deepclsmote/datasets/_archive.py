"""Opening archives (zip, tar, gzipped tar) and directories within resource limits.

Every member is checked before anything is read: no links, devices,
absolute paths, ``..``, backslashes, nested archives or (zip) encryption;
and the sizes members declare bound what the archive can expand to. A zip
declares them in its directory, which :mod:`zipfile` then enforces while
reading. A tar declares them in each member's header, read as the stream
goes, so each is checked before the stream moves past its data; and a
compressed tar's stream is cut off once it has expanded further than those
limits allow, whatever :mod:`tarfile` does in between.
"""

from __future__ import annotations

import gzip
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any

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
#: A gzipped IDX file (``train-images-idx3-ubyte.gz``) is data, not an archive inside one.
IDX_NAME = re.compile(r"[-.]idx([0-9])-ubyte(\.gz)?$", re.IGNORECASE)
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# What reading a damaged member raises (bad CRC, corrupt or truncated deflate or gzip data).
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, tarfile.TarError, gzip.BadGzipFile)
_TAR_SLACK = 1024  # a tar member's header and padding, at most, beyond its data


def check_name(name: str, source: str) -> None:
    """Refuse a member name that could escape its folder."""
    if not name:
        raise DatasetFormatError(f"{source}: a member has an empty name; refused.")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise DatasetFormatError(f"{source}: member {name!r} is an absolute path; refused.")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise DatasetFormatError(f"{source}: member {name!r} contains '..'; refused.")
    if "\\" in name:
        raise DatasetFormatError(f"{source}: member {name!r} contains a backslash; archive "
                                 f"paths must use '/'. Refused.")


def _check_not_nested(name: str, source: str) -> None:
    if PurePosixPath(name).suffix.lower() in NESTED_SUFFIXES and not IDX_NAME.search(name):
        raise DatasetFormatError(f"{source}: member {name!r} is an archive inside the archive; "
                                 f"nested archives are refused, unpack it first.")


def check_member(info: zipfile.ZipInfo, source: str, max_ratio: float | None) -> None:
    """Refuse a zip member that could escape its folder, hide an archive, or expand too far.

    Encrypted members and compression other than stored or deflated are refused too.
    """
    name = info.filename
    check_name(name, source)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DatasetFormatError(f"{source}: member {name!r} is a symbolic link; refused.")
    if info.flag_bits & 0x1:
        raise DatasetFormatError(f"{source}: member {name!r} is encrypted; refused.")
    if info.compress_type not in _METHODS:
        raise DatasetFormatError(f"{source}: member {name!r} uses compression method "
                                 f"{info.compress_type}; only stored and deflated members are "
                                 f"supported.")
    if not info.is_dir():
        _check_not_nested(name, source)
    ratio = info.file_size / max(info.compress_size, 1)
    if max_ratio is not None and info.file_size > _RATIO_MIN_BYTES and ratio > max_ratio:
        raise DatasetFormatError(
            f"{source}: member {name!r} expands {ratio:.0f}-fold ({info.compress_size} to "
            f"{info.file_size} bytes), more than max_ratio={max_ratio:g}; refused as a zip bomb."
        )


def _check_totals(total: int, packed: int, source: str, max_total_bytes: int | None,
                  max_ratio: float | None, what: str = "zip") -> None:
    if max_total_bytes is not None and total > max_total_bytes:
        raise DatasetFormatError(f"{source} expands to {total} bytes, more than "
                                 f"max_total_bytes={max_total_bytes}; refused.")
    packed = max(packed, 1)
    if max_ratio is not None and total > _RATIO_MIN_BYTES and total / packed > max_ratio:
        raise DatasetFormatError(
            f"{source} expands {total / packed:.0f}-fold overall ({packed} to {total} bytes), "
            f"more than max_ratio={max_ratio:g}; refused as a {what} bomb."
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
    _check_totals(sum(i.file_size for i in infos), sum(i.compress_size for i in infos),
                  source, max_total_bytes, max_ratio)


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


# --- tar -----------------------------------------------------------------------------------


def tar_compression(path: Path) -> str | None:
    """``""`` for a tar, ``"gz"`` for a gzipped tar (``.tar.gz``, ``.tgz``), else None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
            if head.startswith(b"\x1f\x8b"):
                fh.seek(0)
                with gzip.GzipFile(fileobj=fh) as unzipped:
                    return "gz" if _is_tar_header(unzipped.read(512)) else None
    except (OSError, EOFError, zlib.error):
        return None
    return "" if _is_tar_header(head) else None


def _is_tar_header(block: bytes) -> bool:
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    try:  # a pre-POSIX header: its checksum (its bytes' sum, the checksum's own as spaces)
        stored = int(block[148:156].split(b"\0")[0].strip() or b"-1", 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 8 * 32 + sum(block[156:512])


class _Bounded:
    """A stream that refuses to give more than ``limit`` bytes (which may grow)."""

    def __init__(self, raw: IO[bytes], limit: int, source: str):
        self.raw, self.limit, self.source = raw, limit, source
        self.seen = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.seen += len(data)
        if self.seen > self.limit:
            raise DatasetFormatError(f"{self.source} holds more data than its members declare "
                                     f"(over {self.limit} bytes read); refused as a tar bomb.")
        return data


def _check_tar_member(member: tarfile.TarInfo, name: str, source: str) -> None:
    check_name(member.name, source)
    kind = ("a symbolic link" if member.issym() else "a hard link" if member.islnk()
            else "a device or pipe" if member.ischr() or member.isblk() or member.isfifo()
            else "a sparse file" if member.issparse()
            else None if member.isfile() or member.isdir() else "not a regular file")
    if kind is not None:
        raise DatasetFormatError(f"{source}: member {name!r} is {kind}; refused.")
    if member.isfile():
        _check_not_nested(name, source)


def _due(declared: int, entries: int) -> int:
    """Most bytes a tar stream may hold: its members' data, their headers and padding, and
    room for one extended header or long name (which :mod:`tarfile` reads whole)."""
    return declared + _TAR_SLACK * (entries + 1) + _RATIO_MIN_BYTES


class _Tar:
    """A tar or gzipped tar, read as a stream: once to list and check it, once to read it.

    The stream is cut off past what the members seen so far declare, so that
    neither pass can be made to decompress (or :mod:`tarfile` to hold) more.
    """

    def __init__(self, path: Path, compression: str, *, max_entries: int | None,
                 max_ratio: float | None, max_total_bytes: int | None):
        self.path, self.compression, self.source = path, compression, str(path)
        packed = path.stat().st_size
        self.members: dict[str, str] = {}  # name as listed -> name in the tar
        total = entries = 0
        with self._stream(_due(0, 0)) as (tar, bounded):
            for member in tar:
                entries += 1
                if max_entries is not None and entries > max_entries:
                    raise DatasetFormatError(f"{path} holds more than max_entries={max_entries} "
                                             f"entries; refused.")
                name = str(PurePosixPath(member.name))
                _check_tar_member(member, name, self.source)
                if member.isfile():
                    if name in self.members:
                        raise DatasetFormatError(f"{path}: member {name!r} appears twice; "
                                                 f"refused.")
                    self.members[name] = member.name
                    total += member.size
                    _check_totals(total, packed if compression else total, self.source,
                                  max_total_bytes, max_ratio, "tar")
                bounded.limit = _due(total, entries)
        self.due = _due(total, entries)
        self.names = list(self.members)

    @contextmanager
    def _stream(self, limit: int) -> Iterator[tuple[tarfile.TarFile, _Bounded]]:
        try:
            with self.path.open("rb") as raw:
                stream: Any = gzip.GzipFile(fileobj=raw) if self.compression else raw
                bounded = _Bounded(stream, limit, self.source)
                with tarfile.open(fileobj=bounded, mode="r|") as tar:  # type: ignore[call-overload]
                    yield tar, bounded
        except READ_ERRORS + (OSError,) as exc:
            raise DatasetFormatError(f"{self.path} is not a readable tar archive: {exc}") \
                from exc

    def open_each(self, names: Sequence[str]) -> Iterator[tuple[str, IO[bytes]]]:
        wanted = {self.members[n]: n for n in names}
        if not wanted:
            return
        with self._stream(self.due) as (tar, _):
            for member in tar:
                fh = tar.extractfile(member) if member.name in wanted else None
                if fh is not None:
                    yield wanted.pop(member.name), fh
                    if not wanted:
                        break


# --- any of them ---------------------------------------------------------------------------


class Archive:
    """The regular files of a directory, zip or tar, listed and then opened one by one.

    Attributes
    ----------
    kind : {"directory", "zip", "tar"}
    names : list of str
        The files, as ``/``-separated paths relative to the top, in stored order.
    """

    def __init__(self, kind: str, names: list[str], opener):  # noqa: ANN001
        self.kind, self.names, self._opener = kind, names, opener

    def open_each(self, names: Sequence[str]) -> Iterator[tuple[str, IO[bytes]]]:
        """``(name, file)`` for each of ``names``, in the order the archive stores them.

        Each file must be read before the next is asked for (a tar is a stream).
        """
        return self._opener(names)


@contextmanager
def open_archive(path: Path, **limits) -> Iterator[Archive]:
    """A directory, zip or tar (plain or gzipped) at ``path``, checked within ``limits``.

    ``limits`` (``max_entries``, ``max_ratio``, ``max_total_bytes``) apply to
    archives, not to directories.
    """
    if path.is_dir():
        rels = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        yield Archive("directory", rels, lambda names: _open_files(path, names))
        return
    compression = tar_compression(path) if path.is_file() else None
    if compression is not None:
        tar = _Tar(path, compression, **limits)
        yield Archive("tar", tar.names, tar.open_each)
        return
    if not zipfile.is_zipfile(path):
        raise DatasetFormatError(f"{path} is neither a directory nor a zip or tar archive.")
    with open_zip(path, **limits) as archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        order = {n: i for i, n in enumerate(names)}

        def each(wanted: Sequence[str]) -> Iterator[tuple[str, IO[bytes]]]:
            for name in sorted(wanted, key=order.__getitem__):
                with archive.open(name) as fh:
                    yield name, fh

        yield Archive("zip", names, each)


def peek_names(path: Path, n: int = 50) -> list[str]:
    """The first ``n`` file names of a zip or tar, unchecked, to tell what it holds.

    A tar is read no further than its ``n``-th member's header and at most
    64 MiB of stream.
    """
    compression = tar_compression(path)
    if compression is None:
        try:
            with zipfile.ZipFile(path) as archive:
                return [i.filename for i in archive.infolist()[:n] if not i.is_dir()]
        except (zipfile.BadZipFile, OSError):
            return []
    names = []
    try:
        with path.open("rb") as raw:
            stream: Any = gzip.GzipFile(fileobj=raw) if compression else raw
            bounded = _Bounded(stream, 64 << 20, str(path))
            with tarfile.open(fileobj=bounded, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    if member.isfile():
                        names.append(member.name)
                    if len(names) >= n:
                        break
    except (*READ_ERRORS, OSError, DatasetFormatError):
        pass
    return names


def _open_files(folder: Path, names: Sequence[str]) -> Iterator[tuple[str, IO[bytes]]]:
    for name in names:
        with (folder / name).open("rb") as fh:
            yield name, fh
