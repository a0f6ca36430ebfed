import gzip

import numpy as np
import pytest

from deepclsmote.datasets import DatasetFormatError, load_idx, load_idx_pair, load_mnist_folder

from .conftest import write_idx


def test_mnist_folder(shared):
    ds = load_mnist_folder(shared("mnist"))
    assert ds.images.shape == (10000, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert ds.classes == [str(d) for d in range(10)]
    assert ds.counts().min() == 892 and ds.counts().max() == 1135
    assert ds.name == "mnist-test"


def test_load_idx_matches_the_pair_loader(shared):
    folder = shared("mnist")
    files = folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    ds = load_idx(*files, classes=list("abcdefghij"), name="m")
    images, labels = load_idx_pair(*files)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.classes[7] == "h" and ds.name == "m"


@pytest.fixture
def tiny_idx(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 1]))
    return tmp_path, images


def test_train_split_mixes_plain_and_gzip(tiny_idx):
    folder, images = tiny_idx
    ds = load_mnist_folder(folder, split="train")
    np.testing.assert_array_equal(ds.images, images)
    assert ds.labels.tolist() == [1, 0, 1] and ds.classes == ["0", "1"]


def test_transpose_for_emnist(tiny_idx):
    folder, images = tiny_idx
    ds = load_idx(folder / "train-images-idx3-ubyte", folder / "train-labels-idx1-ubyte.gz",
                  transpose=True)
    assert ds.images.shape == (3, 5, 4) and ds.images.flags.c_contiguous
    np.testing.assert_array_equal(ds.images[1], images[1].T)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist_folder(tmp_path)


def test_unknown_split(tiny_idx):
    with pytest.raises(ValueError, match=r"split must be one of \['test', 'train'\]; got 'val'"):
        load_mnist_folder(tiny_idx[0], split="val")


def test_label_count_mismatch_refused(tmp_path):
    write_idx(tmp_path / "i", np.zeros((3, 4, 4), np.uint8))
    write_idx(tmp_path / "l", np.zeros(2, np.uint8))
    with pytest.raises(DatasetFormatError, match="3 images but 2 labels"):
        load_idx(tmp_path / "i", tmp_path / "l")


def test_too_few_class_names_refused(tiny_idx):
    folder, _ = tiny_idx
    with pytest.raises(DatasetFormatError, match=r"labels must lie in 0\.\.0"):
        load_mnist_folder(folder, split="train", classes=["only"])


def test_truncated_file_refused(tmp_path):
    write_idx(tmp_path / "i", np.zeros((3, 4, 4), np.uint8))
    (tmp_path / "i").write_bytes((tmp_path / "i").read_bytes()[:-1])
    with pytest.raises(DatasetFormatError, match="holds 47 bytes"):
        load_idx(tmp_path / "i", tmp_path / "i")


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                        for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def idx_zip(path, members: dict) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_idx_pairs_in_a_zip_raw_or_gzipped(tmp_path):
    from deepclsmote.datasets import load_dataset, load_idx_archive

    train = np.arange(3 * 8 * 8, dtype=np.uint8).reshape(3, 8, 8)
    test = np.full((2, 8, 8), 7, np.uint8)
    idx_zip(tmp_path / "one.zip", {"t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(test)),
                                   "t10k-labels-idx1-ubyte": idx_bytes(np.array([1, 0]))})
    one = load_idx_archive(tmp_path / "one.zip")
    assert one.images.tolist() == test.tolist() and one.labels.tolist() == [1, 0]
    assert one.conversions == ()
    idx_zip(tmp_path / "both.zip", {
        "mnist/train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(train)),
        "mnist/train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(np.array([0, 1, 1]))),
        "mnist/t10k-images-idx3-ubyte": idx_bytes(test),
        "mnist/t10k-labels-idx1-ubyte": idx_bytes(np.array([1, 0])),
        "mnist/README": b"MNIST"})
    both = load_dataset(tmp_path / "both.zip")  # told from its members
    assert both.labels.tolist() == [0, 1, 1, 1, 0]  # train first
    assert [c.detail for c in both.conversions] == [
        "split=all: read t10k, train", "1 file(s) skipped, not IDX files: mnist/README"]
    only = load_idx_archive(tmp_path / "both.zip", split="test", size=(16, 16), mode="RGB")
    assert only.images.shape == (2, 16, 16, 3)
    assert [c.kind for c in only.conversions] == ["split", "resize", "mode", "skipped"]


@pytest.mark.parametrize(("members", "match"), [
    ({"train-images-idx3-ubyte": "images"}, "has no labels file beside it"),
    ({"train-images-idx3-ubyte": "images", "train-labels-idx1-ubyte": "short"},
     r"declares shape \(3,\) \(3 bytes of data\) but holds 2 bytes"),
    ({"train-images-idx3-ubyte.gz": "bomb", "train-labels-idx1-ubyte": "labels"},
     r"declares shape \(100000, 100, 100\) .* more than max_total_bytes=1000000"),
])
def test_idx_archive_refusals(tmp_path, members, match):
    from deepclsmote.datasets import load_idx_archive

    images = np.zeros((3, 8, 8), np.uint8)
    blobs = {"images": idx_bytes(images), "labels": idx_bytes(np.array([0, 1, 1])),
             "short": idx_bytes(np.array([0, 1, 1]))[:-1],
             "bomb": gzip.compress(bytes([0, 0, 8, 3]) + b"".join(
                 d.to_bytes(4, "big") for d in (100000, 100, 100)) + bytes(1 << 20))}
    idx_zip(tmp_path / "x.zip", {name: blobs[kind] for name, kind in members.items()})
    with pytest.raises(DatasetFormatError, match=match):
        load_idx_archive(tmp_path / "x.zip", max_total_bytes=1_000_000)
