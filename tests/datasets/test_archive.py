"""Tar archives, plain and gzipped: the same member rules and bomb limits as zip archives."""

from __future__ import annotations

import gzip
import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from deepclsmote.datasets import DatasetFormatError, load_image_folder
from deepclsmote.datasets._archive import open_archive, peek_names


def png(value: int = 0, side: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (side, side), value).save(buffer, format="PNG")
    return buffer.getvalue()


def write_tar(path, members: dict, compress: bool = False) -> None:
    """``{name: bytes, or a TarInfo (a link, a device...) with its bytes}``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = name if isinstance(name, tarfile.TarInfo) else tarfile.TarInfo(name)
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    raw = buffer.getvalue()
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tgz"])
def test_tar_of_class_folders_reads_like_a_zip(tmp_path, suffix):
    path = tmp_path / f"set{suffix}"
    write_tar(path, {"./set/dog/2.png": png(2), "./set/cat/1.png": png(1),
                     "./set/cat/0.png": png(0), "./set/notes.txt": b"x"},
              compress=suffix != ".tar")
    ds = load_image_folder(path)
    assert ds.classes == ["cat", "dog"] and ds.images[:, 0, 0].tolist() == [0, 1, 2]
    assert ds.name == "set"
    assert [c.kind for c in ds.conversions] == ["skipped"]


def link(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, "/etc/passwd"
    return info


@pytest.mark.parametrize(("member", "match"), [
    ("../up/0.png", r"contains '\.\.'"),
    ("/etc/cat/0.png", "is an absolute path"),
    ("cat\\0.png", "contains a backslash"),
    ("cat/inner.tar.gz", "is an archive inside the archive"),
    (link("cat/l.png", tarfile.SYMTYPE), "is a symbolic link"),
    (link("cat/h.png", tarfile.LNKTYPE), "is a hard link"),
    (link("cat/dev.png", tarfile.CHRTYPE), "is a device or pipe"),
    (link("cat/fifo.png", tarfile.FIFOTYPE), "is a device or pipe"),
])
@pytest.mark.parametrize("compress", [False, True])
def test_unsafe_members_are_refused(tmp_path, member, match, compress):
    path = tmp_path / "evil.tar"
    write_tar(path, {"cat/0.png": png(), "dog/0.png": png(1), member: png()}, compress)
    with pytest.raises(DatasetFormatError, match=match):
        load_image_folder(path)


def test_a_name_given_twice_is_refused(tmp_path):
    path = tmp_path / "twice.tar"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for value in (0, 1):
            data = png(value)
            info = tarfile.TarInfo("cat/0.png")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    with pytest.raises(DatasetFormatError, match="'cat/0.png' appears twice"):
        load_image_folder(path)


def test_limits_on_entries_declared_size_and_expansion(tmp_path):
    path = tmp_path / "many.tar.gz"
    write_tar(path, {f"cat/{i}.png": png() for i in range(12)}, compress=True)
    with pytest.raises(DatasetFormatError, match="more than max_entries=10"):
        load_image_folder(path, max_entries=10)
    with pytest.raises(DatasetFormatError, match="more than max_total_bytes=500"):
        load_image_folder(path, max_total_bytes=500)
    bomb = tmp_path / "bomb.tgz"  # 8 MB of zeros in a few kB
    write_tar(bomb, {"cat/0.bmp": bytes(8 << 20), "dog/0.png": png()}, compress=True)
    with pytest.raises(DatasetFormatError, match=r"expands \d+-fold overall .* refused as a "
                                                 r"tar bomb"):
        load_image_folder(bomb)


def test_a_stream_longer_than_its_members_declare_is_cut_off(tmp_path):
    """A 4 MB extended header, which tarfile would read whole before showing its member."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("cat/0.png")
        info.pax_headers = {"comment": "x" * (4 << 20)}  # tarfile reads this header whole
        data = png()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path = tmp_path / "pax.tar.gz"
    path.write_bytes(gzip.compress(buffer.getvalue()))
    with pytest.raises(DatasetFormatError, match="holds more data than its members declare"):
        with open_archive(path, max_entries=100, max_ratio=1e9, max_total_bytes=1e9):
            pass


def test_peek_names_reads_only_the_first_members(tmp_path):
    path = tmp_path / "a.tar.gz"
    write_tar(path, {f"cat/{i}.png": png() for i in range(5)}, compress=True)
    assert peek_names(path, 2) == ["cat/0.png", "cat/1.png"]
    assert peek_names(tmp_path / "a.tar.gz", 50) == [f"cat/{i}.png" for i in range(5)]
    assert np.array_equal(load_image_folder(path).labels, np.zeros(5))
