"""The loaders' resource limits (zip members, image pixels, array headers, CSV size)."""

import io
import struct
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from deepclsmote.datasets import DatasetFormatError, load_csv, load_image_folder, load_npz


def png_header(width: int, height: int) -> bytes:
    """A grey PNG claiming ``width`` x ``height`` pixels, with one scanline of data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(width + 1))) + chunk(b"IEND", b""))


def write_zip(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def bmp(value: int, side: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (value, value, value)).save(buffer, format="BMP")
    return buffer.getvalue()


@pytest.mark.parametrize("side", [10_000, 20_000])  # past Pillow's warning, past its error
def test_pillows_own_limit_is_an_error_not_a_warning(tmp_path, side):
    write_zip(tmp_path / "b.zip", {"a/bomb.png": png_header(side, side)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DatasetFormatError, match=r"a/bomb\.png is not a readable image: "
                                                     r".*could be decompression bomb"):
            load_image_folder(tmp_path / "b.zip", max_pixels=None)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_max_pixels_in_directories_too(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "big.png").write_bytes(png_header(9000, 9000))
    with pytest.raises(DatasetFormatError, match=r"9000x9000 pixels, more than "
                                                 r"max_pixels=67108864; refused before decoding.*"
                                                 r"pass size=\(H, W\) to decode images reduced"):
        load_image_folder(tmp_path)


def test_small_members_may_compress_far_and_limits_can_be_lifted(tmp_path):
    members = {f"{c}/{i}.bmp": bmp(40 * i) for c in "ab" for i in range(3)}  # 12 kB -> ~60 B
    write_zip(tmp_path / "flat.zip", members)
    assert load_image_folder(tmp_path / "flat.zip").images.shape == (6, 64, 64, 3)
    with pytest.raises(DatasetFormatError, match="holds 6 entries, more than max_entries=5"):
        load_image_folder(tmp_path / "flat.zip", max_entries=5)
    assert len(load_image_folder(tmp_path / "flat.zip", max_entries=None)) == 6


def test_npz_header_claiming_more_than_its_member_holds(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|u1", "fortran_order": False, "shape": (10**6, 64, 64)})
    write_zip(tmp_path / "lie.npz", {"images.npy": buffer.getvalue() + bytes(64),
                                     "labels.npy": np.lib.format.MAGIC_PREFIX})
    with pytest.raises(DatasetFormatError, match=r"array 'images' claims shape \(1000000, 64, "
                                                 r"64\) of uint8 \(4096000000 bytes\)"):
        load_npz(tmp_path / "lie.npz")


def test_npz_members_are_checked_like_any_zip(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 8, 8), np.uint8), labels=[0, 1])
    with pytest.raises(DatasetFormatError, match=r"expands to \d+ bytes, more than "
                                                 r"max_total_bytes=100"):
        load_npz(tmp_path / "a.npz", max_total_bytes=100)


def test_csv_size_checked_before_parsing(tmp_path):
    (tmp_path / "a.csv").write_text("".join(f"{i % 2}" + ",0" * 64 + "\n" for i in range(10)))
    with pytest.raises(DatasetFormatError, match=r"10 rows of 64 pixels take 5120 bytes to parse"):
        load_csv(tmp_path / "a.csv", max_total_bytes=5000)
    with pytest.raises(DatasetFormatError, match=r"images of 8x8 pixels are more than "
                                                 r"max_pixels=63"):
        load_csv(tmp_path / "a.csv", max_pixels=63)
    assert len(load_csv(tmp_path / "a.csv", max_total_bytes=None)) == 10
