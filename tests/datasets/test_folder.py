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
    save(tmp_path / "grey" / "la.png", Image.new("LA", (4, 4), (70, 0)))
    save(tmp_path / "grey" / "bits.png", Image.new("1", (4, 4), 1))
    ds = load_image_folder(tmp_path)
    assert ds.images.shape == (2, 4, 4) and sorted(ds.images[:, 0, 0].tolist()) == [70, 255]

    colour = tmp_path / "colour"
    save(colour / "c" / "rgba.png", Image.new("RGBA", (4, 4), (1, 2, 3, 0)))
    palette = Image.new("RGB", (4, 4), (200, 100, 50)).convert("P")
    save(colour / "c" / "p.png", palette)
    ds = load_image_folder(colour)
    assert ds.images.shape == (2, 4, 4, 3)
    # Alpha is dropped, not composited: the stored colour stays.
    assert ds.images[1, 0, 0].tolist() == [1, 2, 3]
    assert np.abs(ds.images[0, 0, 0].astype(int) - [200, 100, 50]).max() <= 30


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
    make_zip(archive, {"train/cat/1.png": png_bytes(), "test/cat/2.png": png_bytes()})
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
