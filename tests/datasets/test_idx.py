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
