import numpy as np
import pytest
from scipy.io import savemat

from deepclsmote.datasets import DatasetFormatError, load_svhn


@pytest.fixture
def svhn(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [9], [10], [3]], dtype=np.uint8)
    savemat(tmp_path / "test_32x32.mat", {"X": X, "y": y})
    return tmp_path, X


def test_images_are_first_and_ten_is_zero(svhn):
    folder, X = svhn
    ds = load_svhn(folder)
    assert ds.images.shape == (5, 32, 32, 3) and ds.images.dtype == np.uint8
    np.testing.assert_array_equal(ds.images[2], X[:, :, :, 2])
    assert ds.labels.tolist() == [0, 1, 9, 0, 3]
    assert ds.classes == [str(d) for d in range(10)]
    assert ds.name == "svhn-test"


def test_file_path_and_missing_split(svhn):
    folder, _ = svhn
    assert len(load_svhn(folder / "test_32x32.mat")) == 5
    with pytest.raises(FileNotFoundError):
        load_svhn(folder, split="train")
    with pytest.raises(ValueError, match="split must be one of"):
        load_svhn(folder, split="valid")
    assert load_svhn(folder, split="test").name == "svhn-test"
    # a file is one split already: asking it for another is refused, not ignored
    with pytest.raises(ValueError, match=r"test_32x32\.mat is a file already .*split='train'"):
        load_svhn(folder / "test_32x32.mat", split="train")


def test_wrong_shapes_refused(tmp_path):
    savemat(tmp_path / "a.mat", {"X": np.zeros((32, 32, 5), np.uint8), "y": np.zeros((5, 1))})
    with pytest.raises(DatasetFormatError, match=r"'X' must be uint8 \(H, W, 3, N\)"):
        load_svhn(tmp_path / "a.mat")
    savemat(tmp_path / "b.mat", {"X": np.zeros((32, 32, 3, 5), np.uint8), "y": np.ones((4, 1))})
    with pytest.raises(DatasetFormatError, match="'y' must hold 5 labels"):
        load_svhn(tmp_path / "b.mat")
    savemat(tmp_path / "c.mat", {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": [[11], [1]]})
    with pytest.raises(DatasetFormatError, match=r"labels must lie in 0\.\.9"):
        load_svhn(tmp_path / "c.mat")


def test_not_a_mat_file(tmp_path):
    (tmp_path / "test_32x32.mat").write_bytes(b"\x00" * 200)
    with pytest.raises(DatasetFormatError, match="not a readable MATLAB"):
        load_svhn(tmp_path)
