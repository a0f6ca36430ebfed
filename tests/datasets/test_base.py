import numpy as np
import pytest

from deepclsmote.datasets import DatasetFormatError, ImageDataset


def make(images=None, labels=None, classes=("a", "b", "c")):
    images = np.zeros((4, 5, 6), np.uint8) if images is None else images
    labels = np.array([0, 2, 2, 1]) if labels is None else labels
    return ImageDataset(images, labels, list(classes), "toy")


def test_len_and_counts():
    ds = make()
    assert len(ds) == 4
    assert ds.counts().tolist() == [1, 1, 2]
    assert ds.counts().dtype == np.int64


def test_counts_include_empty_classes():
    ds = make(classes=("a", "b", "c", "d"))
    assert ds.counts().tolist() == [1, 1, 2, 0]


def test_is_frozen():
    ds = make()
    with pytest.raises(AttributeError):
        ds.name = "other"  # type: ignore[misc]


def test_colour_images_accepted():
    assert make(images=np.zeros((4, 5, 6, 3), np.uint8)).images.shape == (4, 5, 6, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"images": np.zeros((4, 5, 6), np.float32)}, "uint8 array; got float32"),
        ({"images": np.zeros((4, 5, 6, 4), np.uint8)}, r"got \(4, 5, 6, 4\)"),
        ({"images": np.zeros((4, 30), np.uint8)}, r"got \(4, 30\)"),
        ({"labels": np.array([0, 1, 2])}, "4 images but 3 labels"),
        ({"labels": np.array([0, 1, 2, 3])}, r"0\.\.2 \(3 classes\); got values from 0 to 3"),
        ({"labels": np.array([0, -1, 2, 1])}, "got values from -1 to 2"),
        ({"labels": np.array([0, 1, 2, 1], np.int32)}, "int64 array; got int32"),
        ({"classes": (0, 1, 2)}, "list of str"),
    ],
)
def test_invalid_input_is_named(kwargs, match):
    with pytest.raises(DatasetFormatError, match=match):
        make(**kwargs)


def test_error_is_a_value_error():
    with pytest.raises(ValueError):
        make(labels=np.array([0, 1]))
