import pickle

import numpy as np
import pytest
from PIL import Image

from deepclsmote.datasets import ImageDataset, load_dataset
from deepclsmote.datasets.registry import FASHION_MNIST_CLASSES, KNOWN

from .conftest import write_idx


def test_digits():
    ds = load_dataset("digits")
    assert isinstance(ds, ImageDataset) and ds.images.shape == (1797, 8, 8)
    assert ds.images.max() == 255 and ds.counts().sum() == 1797


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown dataset 'cifar100': neither one of \['digits', "
                                         r"'digits-imbalanced', 'mnist', 'fashion-mnist', "
                                         r"'kmnist', 'emnist', 'cifar10', 'svhn', 'gtsrb'\]"):
        load_dataset("cifar100")
    assert len(KNOWN) == 9


def test_named_datasets_need_a_folder():
    with pytest.raises(ValueError, match="'mnist' needs data_dir.*nothing is downloaded"):
        load_dataset("mnist")


def test_mnist_by_name_and_by_folder(shared):
    folder = shared("mnist")
    by_name = load_dataset("MNIST", folder)
    assert by_name.labels[:5].tolist() == [7, 2, 1, 0, 4] and by_name.name == "mnist-test"
    np.testing.assert_array_equal(load_dataset(folder).labels, by_name.labels)


def test_fashion_names_its_classes(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 4, 4), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([9, 0], np.uint8))
    ds = load_dataset("fashion_mnist", tmp_path)
    assert ds.classes == FASHION_MNIST_CLASSES and ds.name == "fashion-mnist-test"
    assert load_dataset("kmnist", tmp_path).classes[9] == "wo"


def test_emnist_is_transposed_and_named_by_its_mapping(tmp_path):
    images = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    write_idx(tmp_path / "emnist-letters-train-images-idx3-ubyte", images)
    write_idx(tmp_path / "emnist-letters-train-labels-idx1-ubyte", np.array([1, 26], np.uint8))
    ds = load_dataset("emnist", tmp_path, split="train", subset="letters")
    np.testing.assert_array_equal(ds.images, images.transpose(0, 2, 1))
    assert ds.classes == [str(i) for i in range(27)]
    (tmp_path / "emnist-letters-mapping.txt").write_text(
        "\n".join(f"{i} {64 + i} {96 + i}" for i in range(1, 27)) + "\n"
    )
    ds = load_dataset("emnist", tmp_path, split="train", subset="letters")
    assert ds.classes[:3] == ["N/A", "A", "B"] and ds.classes[ds.labels[1]] == "Z"
    with pytest.raises(ValueError, match="subset must be one of"):
        load_dataset("emnist", tmp_path, subset="words")


def test_paths_pick_their_loader(shared, tmp_path):
    npz = load_dataset(shared("fashion-mnist-1000/fashion_mnist_test_subset1000.npz"))
    csv = load_dataset(shared("fashion-mnist-1000/fashion-mnist_test_subset1000.csv"))
    np.testing.assert_array_equal(npz.images, csv.images)
    (tmp_path / "cls").mkdir()
    Image.new("L", (3, 3)).save(tmp_path / "cls" / "x.png")
    assert load_dataset(tmp_path).classes == ["cls"]


def test_cifar_folder_by_structure(tmp_path):
    meta = {b"label_names": [b"a", b"b"]}
    (tmp_path / "batches.meta").write_bytes(pickle.dumps(meta, protocol=4))
    data = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 0]}
    (tmp_path / "test_batch").write_bytes(pickle.dumps(data, protocol=4))
    assert load_dataset(tmp_path).labels.tolist() == [1, 0]
    assert load_dataset("cifar10", tmp_path).classes == ["a", "b"]


def test_unknown_suffix(tmp_path):
    (tmp_path / "data.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match=r"cannot tell the format .* known suffixes are"):
        load_dataset(tmp_path / "data.parquet")


def test_an_option_the_loader_lacks_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"^the digits dataset has no 'split' option; it takes "
                                         r"none\.$"):
        load_dataset("digits", split="train")
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 3, 3), np.uint8), labels=[0, 1])
    with pytest.raises(ValueError, match=r"a\.npz has no 'split' option; its options are "
                                         r"\['name', 'image_shape', 'size'"):
        load_dataset(tmp_path / "a.npz", split="train")
    with pytest.raises(ValueError, match=r"dataset 'mnist' has no 'size' option; its options "
                                         r"are \['split'\]\."):
        load_dataset("mnist", tmp_path, size=(8, 8))
