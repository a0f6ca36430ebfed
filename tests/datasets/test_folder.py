import io
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from deepclsmote.datasets import DatasetFormatError, load_image_folder

from ..conftest import SHARED_DATA, missing_data

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]


@pytest.fixture(scope="module")
def cifar_jpg():
    """The 10,000 JPEG CIFAR-10 test images, loaded once (a few seconds)."""
    path = SHARED_DATA / "cifar10-test-jpg" / "cifar10-test-jpg.zip"
    if not path.is_file():
        missing_data(f"{path} not found (set DEEPCLSMOTE_SHARED_DATA)")
    return load_image_folder(path)


def test_cifar_jpg_zip_with_wrapper_folder(cifar_jpg):
    ds = cifar_jpg
    assert ds.images.shape == (10000, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.classes == CIFAR_CLASSES
    assert ds.counts().tolist() == [1000] * 10
    assert np.all(np.diff(ds.labels) >= 0)  # grouped by class, in sorted file order
    assert ds.name == "cifar10-test-jpg"
    assert 80 < ds.images.mean() < 160  # real photographs, not blank decodes


def save(path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def grey(value: int, size=(6, 4)) -> Image.Image:
    return Image.new("L", size, value)


def test_grey_directory(tmp_path):
    save(tmp_path / "b" / "2.png", grey(20))
    save(tmp_path / "b" / "1.png", grey(10))
    save(tmp_path / "a" / "x.bmp", grey(30))
    (tmp_path / "a" / "notes.txt").write_text("ignored")
    save(tmp_path / "a" / ".hidden.png", grey(99))
    ds = load_image_folder(tmp_path, name="g")
    assert ds.classes == ["a", "b"] and ds.labels.tolist() == [0, 1, 1]
    assert ds.images.shape == (3, 4, 6)  # (N, H, W): Pillow's size is (W, H)
    assert ds.images[:, 0, 0].tolist() == [30, 10, 20]


def test_modes_are_converted(tmp_path):
    save(tmp_path / "grey" / "la.png", Image.new("LA", (4, 4), (70, 255)))
    save(tmp_path / "grey" / "clear.png", Image.new("LA", (4, 4), (70, 0)))
    save(tmp_path / "grey" / "bits.png", Image.new("1", (4, 4), 0))
    ds = load_image_folder(tmp_path)
    # bits, clear (transparent: composited onto white), la (opaque)
    assert ds.images.shape == (3, 4, 4) and ds.images[:, 0, 0].tolist() == [0, 255, 70]

    colour = tmp_path / "colour"
    save(colour / "c" / "rgba.png", Image.new("RGBA", (4, 4), (1, 2, 3, 0)))
    palette = Image.new("RGB", (4, 4), (200, 100, 50)).convert("P")
    save(colour / "c" / "p.png", palette)
    save(colour / "c" / "solid.png", Image.new("RGBA", (4, 4), (9, 8, 7, 255)))
    ds = load_image_folder(colour)
    assert ds.images.shape == (3, 4, 4, 3)
    # Transparent pixels are composited onto white; an opaque alpha channel is dropped.
    assert ds.images[1, 0, 0].tolist() == [255, 255, 255]
    assert ds.images[2, 0, 0].tolist() == [9, 8, 7]
    assert np.abs(ds.images[0, 0, 0].astype(int) - [200, 100, 50]).max() <= 30
    notes = {c.kind: c for c in ds.conversions}
    assert notes["alpha"].count == 1 and "composited onto white" in notes["alpha"].detail
    assert notes["mode"].detail == "3 of 3 images converted to RGB (from RGBA: 2, P: 1)"


def test_mixed_sizes_name_the_file_unless_resized(tmp_path):
    save(tmp_path / "a" / "1.png", grey(0, (6, 4)))
    save(tmp_path / "b" / "2.png", grey(0, (5, 4)))
    with pytest.raises(DatasetFormatError, match=r"b/2\.png is L \(4, 5\) but .*a/1\.png is L "
                                                 r"\(4, 6\)"):
        load_image_folder(tmp_path)
    assert load_image_folder(tmp_path, size=(8, 8)).images.shape == (2, 8, 8)


def test_mixed_modes_refused_unless_converted(tmp_path):
    save(tmp_path / "a" / "1.png", grey(0))
    save(tmp_path / "b" / "2.png", Image.new("RGB", (6, 4), (255, 0, 0)))
    with pytest.raises(DatasetFormatError, match=r"2\.png is RGB"):
        load_image_folder(tmp_path)
    ds = load_image_folder(tmp_path, mode="L")
    assert ds.images.shape == (2, 4, 6) and ds.images[1, 0, 0] == 76  # ITU-R 601 luma of red
    assert load_image_folder(tmp_path, mode="RGB").images.shape == (2, 4, 6, 3)


def test_sixteen_bit_images_refused(tmp_path):
    save(tmp_path / "a" / "deep.png", Image.new("I;16", (4, 4), 1000))
    with pytest.raises(DatasetFormatError, match="deep.png has Pillow mode"):
        load_image_folder(tmp_path)


def test_bad_layouts(tmp_path):
    save(tmp_path / "loose.png", grey(0))
    with pytest.raises(DatasetFormatError, match=r"expected <class>/<image>.*'loose\.png'"):
        load_image_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetFormatError, match="no images"):
        load_image_folder(tmp_path / "empty")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DatasetFormatError, match="neither a directory nor a zip"):
        load_image_folder(tmp_path / "file.txt")


def png_bytes(value: int = 0) -> bytes:
    buffer = io.BytesIO()
    grey(value).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():  # name: a str or a ZipInfo
            archive.writestr(name, data)


def test_zip_without_wrapper_and_with_junk(tmp_path):
    archive = tmp_path / "set.zip"
    make_zip(archive, {"cat/1.png": png_bytes(1), "dog/2.png": png_bytes(2),
                       "__MACOSX/cat/._1.png": b"junk", "README.md": b"hi"})
    ds = load_image_folder(archive)
    assert ds.classes == ["cat", "dog"] and ds.images[:, 0, 0].tolist() == [1, 2]


def test_two_wrapper_folders_refused(tmp_path):
    archive = tmp_path / "set.zip"
    make_zip(archive, {"one/cat/1.png": png_bytes(), "two/cat/2.png": png_bytes()})
    with pytest.raises(DatasetFormatError, match="expected <class>/<image>"):
        load_image_folder(archive)


@pytest.mark.parametrize(
    ("member", "match"),
    [
        ("../evil/1.png", r"contains '\.\.'"),
        ("cat/../../1.png", r"contains '\.\.'"),
        ("/etc/cat/1.png", "absolute path"),
        ("C:/cat/1.png", "absolute path"),
    ],
)
def test_zip_path_traversal_refused(tmp_path, member, match):
    archive = tmp_path / "evil.zip"
    make_zip(archive, {"cat/0.png": png_bytes(), member: png_bytes()})
    with pytest.raises(DatasetFormatError, match=match):
        load_image_folder(archive)


def test_zip_symlink_refused(tmp_path):
    link = zipfile.ZipInfo("cat/link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = tmp_path / "evil.zip"
    make_zip(archive, {"cat/0.png": png_bytes(), link: b"/etc/passwd"})
    with pytest.raises(DatasetFormatError, match="'cat/link.png' is a symbolic link"):
        load_image_folder(archive)


def test_corrupt_image_is_named(tmp_path):
    archive = tmp_path / "bad.zip"
    make_zip(archive, {"cat/0.png": png_bytes(), "cat/1.png": b"not a png"})
    with pytest.raises(DatasetFormatError, match=r"bad\.zip:cat/1\.png is not a readable image"):
        load_image_folder(archive)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"mode must be one of \['L', 'RGB'\]; got 'RGBA'"):
        load_image_folder(tmp_path, mode="RGBA")
    with pytest.raises(ValueError, match=r"size must be a \(height, width\) pair; got 32"):
        load_image_folder(tmp_path, size=32)


def test_tiff_and_webp_are_read(tmp_path):
    save(tmp_path / "a" / "1.tif", grey(10))
    save(tmp_path / "a" / "2.tiff", grey(20))
    save(tmp_path / "b" / "3.webp", Image.new("RGB", (6, 4), (30, 30, 30)))
    ds = load_image_folder(tmp_path, mode="L")
    assert ds.images.shape == (3, 4, 6) and ds.images[:2, 0, 0].tolist() == [10, 20]
    assert abs(int(ds.images[2, 0, 0]) - 30) <= 2  # WebP is lossy by default


def test_train_and_test_folders_and_the_split_option(tmp_path):
    for split, n in (("train", 3), ("test", 1)):
        for i in range(n):
            save(tmp_path / "data" / split / "cat" / f"{i}.png", grey(i))
        save(tmp_path / "data" / split / "dog" / "0.png", grey(100))
    everything = load_image_folder(tmp_path)
    assert everything.classes == ["cat", "dog"] and everything.counts().tolist() == [4, 2]
    assert everything.conversions[0].detail == ("split=all: read test/ (2 images), "
                                                "train/ (4 images)")
    train = load_image_folder(tmp_path, split="train")
    assert train.counts().tolist() == [3, 1]
    assert train.conversions[0].detail == ("split=train: read train/ (4 images); left out "
                                           "test/ (2 images)")
    with pytest.raises(DatasetFormatError, match="has no train/ and test/ folders"):
        load_image_folder(tmp_path / "data" / "train", split="train")
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'test', 'all'\]"):
        load_image_folder(tmp_path, split="val")


@pytest.mark.parametrize(("fit", "corner", "centre"), [
    ("stretch", 255, 255), ("crop", 255, 255), ("pad", 0, 255)])
def test_fit_meets_another_aspect_ratio(tmp_path, fit, corner, centre):
    save(tmp_path / "a" / "wide.png", grey(255, (40, 10)))
    ds = load_image_folder(tmp_path, size=(8, 8), fit=fit)
    assert ds.images.shape == (1, 8, 8)
    assert (ds.images[0, 0, 0], ds.images[0, 4, 4]) == (corner, centre)
    (resize,) = ds.conversions
    assert resize.kind == "resize" and resize.count == 1
    assert resize.detail.startswith(f"1 of 1 images resized to 8x8 (fit={fit}: ")
    assert resize.detail.endswith("they were 40x10 (1) (width x height)")


def test_a_large_jpeg_is_decoded_reduced(tmp_path):
    from deepclsmote.datasets import _pillow

    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 120, 150)).save(buffer, format="JPEG")
    buffer.seek(0)
    image, stored = _pillow.decode(buffer, "big.jpg", target=(64, 64))
    # decoded at 1/8 of its size (500x375), then halved: still twice the target
    assert stored == (4000, 3000) and image.size == (250, 188)
    buffer.seek(0)
    with pytest.raises(DatasetFormatError, match=r"4000x3000 pixels, more than "
                                                 r"max_pixels=4096; .* pass size=\(H, W\)"):
        _pillow.decode(buffer, "big.jpg", max_pixels=4096)


def test_skipped_files_and_mixed_sizes_are_named(tmp_path):
    from deepclsmote.datasets import NeedsOption

    save(tmp_path / "a" / "1.png", grey(0, (6, 4)))
    save(tmp_path / "a" / ".DS_Store.png", grey(0, (6, 4)))
    (tmp_path / "a" / "labels.json").write_text("{}")
    ds = load_image_folder(tmp_path)
    assert sorted(c.detail for c in ds.conversions) == [
        "1 file(s) skipped, hidden files and macOS metadata: a/.DS_Store.png",
        "1 file(s) skipped, not PNG, JPEG, PPM/PGM/PBM, BMP, TIFF or WebP images: "
        "a/labels.json"]
    save(tmp_path / "b" / "2.png", grey(0, (5, 4)))
    with pytest.raises(NeedsOption) as caught:
        load_image_folder(tmp_path)
    assert caught.value.options == ("size",)
    assert str(caught.value).endswith("pass size=(H, W) to resize every image.")
