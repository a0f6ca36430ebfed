"""app.ingest: each upload format accepted, and each hostile or unusable one refused by code.

Every file is written here, small, under tmp_path; the upload is always saved
as ``tmp_path/"upload"`` so that the format must come from the bytes and the
client's file name, and so that messages can be checked not to show the
server's path.
"""

import gzip
import io
import re
import stat
import struct
import tarfile
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from app.ingest import UploadError, UploadLimits, manifest, read_upload, sniff_format


def image(fmt: str = "PNG", mode: str = "L", side: int = 16, seed: int = 0) -> bytes:
    """An image of noise (noise, so that zip compression cannot shrink it much)."""
    shape = (side, side) if mode == "L" else (side, side, 3)
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format=fmt)
    return buffer.getvalue()


def flat(side: int = 16) -> bytes:
    """A one-colour PNG: a few dozen bytes, whatever its size."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def png_chunks(width: int, height: int, depth: int, colour: int, raw: bytes) -> bytes:
    """A PNG written by hand, for what Pillow will not write (16-bit colour, lying headers)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def zip_of(members: dict) -> bytes:
    """A deflated zip of ``{name or ZipInfo: bytes}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def two_classes(**kw) -> dict:
    """cat (3 images) and dog (2), all alike but for their noise."""
    return {f"{label}/{i}.png": image(seed=10 * j + i, **kw)
            for j, (label, n) in enumerate([("cat", 3), ("dog", 2)]) for i in range(n)}


def npz_of(compressed: bool = False, **arrays) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def csv_of(rows, header: bool = True) -> bytes:
    lines = [",".join(map(str, row)) for row in rows]
    if header:
        lines.insert(0, ",".join(["label"] + [f"pixel{i}" for i in range(1, len(rows[0]))]))
    return ("\n".join(lines) + "\n").encode()


def upload(tmp_path, filename: str, data: bytes, **limits):
    path = tmp_path / "upload"
    path.write_bytes(data)
    return read_upload(path, filename, UploadLimits(**limits))[1]


def grey_arrays(n: int = 6, side: int = 8, **extra) -> dict:
    rng = np.random.default_rng(0)
    return {"images": rng.integers(0, 256, (n, side, side), dtype=np.uint8),
            "labels": np.arange(n) % 2, **extra}


# --- accepted ---------------------------------------------------------------------------------


def test_zip_of_mixed_formats_under_a_wrapper_folder(tmp_path):
    members = {
        "set/cat/a.png": image("PNG", "RGB", seed=1),
        "set/cat/b.jpg": image("JPEG", "RGB", seed=2),
        "set/cat/c.bmp": image("BMP", "RGB", seed=3),
        "set/dog/d.ppm": image("PPM", "RGB", seed=4),
        "__MACOSX/set/cat/._a.png": b"resource fork",
        "set/README.txt": b"ignored",
    }
    ds = upload(tmp_path, "pets.zip", zip_of(members))
    assert ds.images.shape == (4, 16, 16, 3) and ds.name == "pets"
    assert manifest(ds) == {
        "n_images": 4, "image_shape": [16, 16, 3],
        "classes": [{"name": "cat", "count": 3}, {"name": "dog", "count": 1}],
        "imbalance_ratio": 3.0,
        "conversions": [
            {"kind": "skipped", "count": 1, "detail": "1 file(s) skipped, hidden files and "
                                                      "macOS metadata: __MACOSX/set/cat/._a.png"},
            {"kind": "skipped", "count": 1, "detail": "1 file(s) skipped, not PNG, JPEG, "
                                                      "PPM/PGM/PBM, BMP, TIFF or WebP images: "
                                                      "set/README.txt"}]}


def test_palette_becomes_rgb_and_sixteen_bit_colour_keeps_its_high_byte(tmp_path):
    colours = np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8)
    palette = Image.fromarray(colours).convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    row = b"\x00" + struct.pack(">HHH", 0x1234, 0xABCD, 0xFFFF) * 16
    deep = png_chunks(16, 16, 16, 2, row * 16)
    ds = upload(tmp_path, "c.zip", zip_of({"a/p.png": buffer.getvalue(), "b/deep.png": deep}))
    assert ds.images.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(ds.images[0], np.asarray(palette.convert("RGB")))
    assert ds.images[1, 0, 0].tolist() == [0x12, 0xAB, 0xFF]


@pytest.mark.parametrize("filename", ["set.npz", "set.zip", "set"])  # told by its members
def test_npz_images_labels_and_classes(tmp_path, filename):
    arrays = grey_arrays(labels=np.array(["b", "a"] * 3), classes=np.array(["b", "a"]))
    ds = upload(tmp_path, filename, npz_of(compressed=True, **arrays))
    assert ds.classes == ["b", "a"] and ds.labels.tolist() == [0, 1] * 3
    np.testing.assert_array_equal(ds.images, arrays["images"])


def test_npz_x_y_floats_with_a_channel_axis(tmp_path):
    X = np.random.default_rng(0).random((4, 10, 10, 1))
    ds = upload(tmp_path, "xy.npz", npz_of(X=X, y=np.array([0, 1, 1, 1])))
    assert ds.images.shape == (4, 10, 10) and manifest(ds)["imbalance_ratio"] == 3.0


def test_csv_with_and_without_the_name(tmp_path):
    rows = [[i % 2] + [(7 * i + j) % 256 for j in range(64)] for i in range(5)]
    for filename in ("digits.csv", "digits.txt"):  # comma-separated text is told by its bytes
        ds = upload(tmp_path, filename, csv_of(rows))
        assert ds.images.shape == (5, 8, 8) and ds.counts().tolist() == [3, 2]


def test_sniff_format(tmp_path):
    path = tmp_path / "upload"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("cat/0.png")
        info.size = len(image())
        tar.addfile(info, io.BytesIO(image()))
    tarred = buffer.getvalue()
    for data, filename, expected in [(zip_of(two_classes()), "x.npz", "zip"),
                                     (npz_of(**grey_arrays()), "x.zip", "npz"),
                                     (b"0,1,2\n", "x.csv", "csv"),
                                     (tarred, "x.zip", "tar"),
                                     (gzip.compress(tarred), "x", "tar")]:
        path.write_bytes(data)
        assert sniff_format(path, filename) == expected


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match=r"UploadLimits.max_ratio must be positive; got 0"):
        UploadLimits(max_ratio=0)


# --- refused ----------------------------------------------------------------------------------


def symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("cat/link.png")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def encrypted() -> bytes:
    """A zip whose member ``cat/secret.png`` is flagged encrypted (zipfile cannot write one)."""
    data = bytearray(with_member("cat/secret.png"))
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46:entry + 60] != b"cat/secret.png":
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 8] |= 0x1  # the central directory's general-purpose flags
    return bytes(data)


def with_member(name, data: bytes = b"") -> bytes:
    return zip_of({**two_classes(), name: data or image()})


def bad_crc() -> bytes:
    data = bytearray(zip_of({"cat/0.png": image(), "dog/0.png": image(seed=1)}))
    data[60] ^= 0xFF  # inside the first member's compressed data
    return bytes(data)


def objects() -> np.ndarray:
    labels = np.empty(4, dtype=object)
    labels[:] = [{"a": 1}] * 4
    return labels


def pixels(value) -> np.ndarray:
    return np.full((4, 8, 8), value)


ROWS = [[i % 2] + [i] * 64 for i in range(4)]

HOSTILE = [
    # Archives: unsafe members and resource limits, refused before anything is decoded.
    ("bomb.zip", with_member("cat/big.bmp", bytes(2 << 20)), {}, "invalid_dataset",
     r"'cat/big\.bmp' expands \d+-fold .* more than max_ratio=200; refused as a zip bomb"),
    ("many.zip", zip_of({f"cat/{i}.png": b"" for i in range(11)}), {"max_entries": 10},
     "invalid_dataset", r"many\.zip holds 11 entries, more than max_entries=10"),
    ("big.zip", zip_of(two_classes()), {"max_total_bytes": 1000}, "invalid_dataset",
     r"big\.zip expands to \d+ bytes, more than max_total_bytes=1000"),
    ("decoded.zip", zip_of({f"{c}/{i}.png": flat() for c in "ab" for i in range(3)}),
     {"max_total_bytes": 1000}, "invalid_dataset",
     r"6 L images of 16x16 pixels would take 1536 bytes once decoded"),
    ("up.zip", with_member("../up.png"), {}, "invalid_dataset", r"'\.\./up\.png' contains '\.\.'"),
    ("abs.zip", with_member("/etc/x.png"), {}, "invalid_dataset",
     r"'/etc/x\.png' is an absolute path"),
    ("drive.zip", with_member("C:/x/y.png"), {}, "invalid_dataset",
     r"'C:/x/y\.png' is an absolute path"),
    ("slash.zip", with_member("cat\\x.png"), {}, "invalid_dataset",
     r"'cat\\\\x\.png' contains a backslash"),
    ("link.zip", with_member(symlink(), b"/etc/passwd"), {}, "invalid_dataset",
     r"'cat/link\.png' is a symbolic link"),
    ("nested.zip", with_member("cat/more.zip", zip_of(two_classes())), {}, "invalid_dataset",
     r"'cat/more\.zip' is an archive inside the archive"),
    ("nested.zip", with_member("dog/more.tar.gz", b"\x1f\x8b"), {}, "invalid_dataset",
     r"'dog/more\.tar\.gz' is an archive inside the archive"),
    ("secret.zip", encrypted(), {}, "invalid_dataset",
     r"'cat/secret\.png' is encrypted"),
    ("crc.zip", bad_crc(), {}, "invalid_dataset", r"crc\.zip:cat/0\.png could not be read"),
    # Images.
    ("trunc.zip", with_member("cat/half.png", image(side=32)[:300]), {}, "invalid_dataset",
     r"trunc\.zip:cat/half\.png is not a readable image"),
    ("fake.zip", with_member("dog/fake.png", b"GIF89a, or just text"), {}, "invalid_dataset",
     r"fake\.zip:dog/fake\.png is not a readable image: not a PNG, JPEG, PPM/PGM/PBM, BMP, "
     r"TIFF or WebP file"),
    ("sizes.zip", with_member("dog/wide.png", image(side=20)), {}, "option_needed",
     r"dog/wide\.png is L \(20, 20\) but .*cat/0\.png is L \(16, 16\)"),
    ("modes.zip", with_member("dog/colour.png", image(mode="RGB")), {}, "option_needed",
     r"dog/colour\.png is RGB but .*cat/0\.png is L; images must share one mode\. Give the "
     r"upload option mode=L or mode=RGB"),
    ("deep.zip", with_member("dog/deep.png", png_chunks(16, 16, 16, 0, (b"\0" + bytes(32)) * 16)),
     {}, "invalid_dataset", r"dog/deep\.png has Pillow mode 'I;16'"),
    ("one.zip", zip_of({f"cat/{i}.png": image(seed=i) for i in range(3)}), {}, "too_few_classes",
     r"one\.zip holds images of 1 class\(es\) \['cat'\]; oversampling needs at least 2"),
    ("tiny.zip", zip_of(two_classes(side=4)), {}, "image_size",
     r"tiny\.zip: images are 4x4 pixels; jobs take 8 to 128 pixels a side\. Give the upload "
     r"option size=HxW"),
    ("huge.zip", zip_of(two_classes(side=160)), {}, "image_size", r"are 160x160 pixels"),
    ("many.zip", zip_of(two_classes()), {"max_images": 4}, "too_many_images",
     r"holds 5 images, more than the limit of 4"),
    # Arrays.
    ("obj.npz", npz_of(images=pixels(0).astype(np.uint8), labels=objects()), {},
     "invalid_dataset", r"obj\.npz: array 'labels' holds Python objects and would need pickle"),
    ("nan.npz", npz_of(images=pixels(np.nan), labels=np.arange(4) % 2), {}, "invalid_dataset",
     r"nan\.npz: pixels must be finite"),
    ("inf.npz", npz_of(images=pixels(np.inf), labels=np.arange(4) % 2), {}, "invalid_dataset",
     r"inf\.npz: pixels must be finite"),
    ("len.npz", npz_of(**grey_arrays(labels=np.arange(5) % 2)), {}, "invalid_dataset",
     r"6 images but 5 labels"),
    ("flat.npz", npz_of(images=np.zeros((4, 65), np.uint8), labels=np.arange(4) % 2), {},
     "invalid_dataset", r"flat\.npz: rows of 65 values are not a square grey or RGB image; "
                        r"store image_shape"),
    ("rank.npz", npz_of(images=np.zeros((4, 8, 8, 3, 1), np.uint8), labels=np.arange(4) % 2),
     {}, "invalid_dataset", r"images must have shape \(N, H, W\), \(N, H, W, C\), "
                            r"\(N, C, H, W\) with C 1 or 3, or flat rows"),
    ("bomb.npz", npz_of(compressed=True, images=np.zeros((2048, 32, 32), np.uint8),
                        labels=np.arange(2048) % 2), {}, "invalid_dataset",
     r"bomb\.npz: member 'images\.npy' expands \d+-fold"),
    ("big.npz", npz_of(**grey_arrays(side=64)), {"max_pixels": 1024}, "invalid_dataset",
     r"images of 64x64 pixels are more than max_pixels=1024"),
    ("one.npy", b"\x93NUMPY\x01\x00", {}, "unsupported_format", r"one\.npy is a single \.npy"),
    # CSV.
    ("w.csv", csv_of(ROWS[:2] + [[0] * 40]), {}, "invalid_dataset",
     r"w\.csv:4: 40 fields, but the header has 65"),
    ("x.csv", csv_of(ROWS[:2] + [[0, "x"] + [0] * 63]), {}, "invalid_dataset",
     r"x\.csv:4: pixel 'x' is not a number"),
    ("bin.csv", b"\xff\xfe\x00garbage", {}, "invalid_dataset", r"bin\.csv is not UTF-8 text"),
    # The file itself.
    ("empty.zip", b"", {}, "empty_upload", r"empty\.zip is empty"),
    ("paper.zip", b"%PDF-1.7\n...", {}, "unsupported_format", r"paper\.zip is a PDF document"),
    ("photo.png", image(), {}, "unsupported_format", r"photo\.png is a single PNG image"),
    ("one.gz", gzip.compress(b"0,1,2\n"), {}, "unsupported_format",
     r"one\.gz is a gzip file that is not a gzipped tar archive"),
    ("scan.tif", image(fmt="TIFF"), {}, "unsupported_format", r"scan\.tif is a single TIFF"),
    ("notes.bin", b"\x00\x01binary", {}, "unsupported_format",
     r"notes\.bin is neither a zip archive nor comma-separated text"),
    ("large.zip", zip_of(two_classes()), {"max_bytes": 100}, "upload_too_large",
     r"large\.zip is \d+ bytes, more than the limit of 100"),
]


@pytest.mark.parametrize(("filename", "data", "limits", "code", "match"), HOSTILE,
                         ids=[f"{case[0]}-{case[3]}-{i}" for i, case in enumerate(HOSTILE)])
def test_refused(tmp_path, filename, data, limits, code, match):
    with pytest.raises(UploadError) as caught:
        upload(tmp_path, filename, data, **limits)
    assert caught.value.code == code
    assert caught.value.message == str(caught.value)
    assert re.search(match, caught.value.message), caught.value.message
    assert str(tmp_path) not in caught.value.message  # the server's path is never shown


def test_png_decompression_bomb_refused_before_decoding(tmp_path):
    buffer = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buffer, format="PNG")  # 9 Mpixel in ~9 kB
    data = zip_of({**two_classes(), "cat/bomb.png": buffer.getvalue()})
    with pytest.raises(UploadError) as caught:
        upload(tmp_path, "bomb.zip", data, max_pixels=64 * 64)
    assert caught.value.code == "option_needed"
    assert "bomb.zip:cat/bomb.png is 3000x3000 pixels, more than max_pixels=4096" in str(
        caught.value)
    assert "Give the upload option size=HxW" in str(caught.value)
