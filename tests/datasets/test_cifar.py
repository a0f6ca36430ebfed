import pickle
import tarfile

import numpy as np
import pytest

from deepclsmote.datasets import DatasetFormatError, load_cifar10
from deepclsmote.datasets.cifar import SPLIT_FILES

NAMES = [b"airplane", b"automobile", b"bird"]


def batch(seed: int, n: int = 4) -> dict:
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"batch %d" % seed,
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"labels": rng.integers(0, 3, n).tolist(),
        b"filenames": [b"img_%d.png" % i for i in range(n)],
    }


def dump(obj, path, protocol: int = 4) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


@pytest.fixture
def batches(tmp_path):
    """A small cifar-10-batches-py folder: 4 images per batch, 3 classes."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    written = {}
    for seed, fname in enumerate([*SPLIT_FILES["train"], *SPLIT_FILES["test"]]):
        written[fname] = batch(seed)
        dump(written[fname], folder / fname)
    dump({b"label_names": NAMES, b"num_cases_per_batch": 4}, folder / "batches.meta")
    return folder, written


def test_test_batch_is_channels_last(batches):
    folder, written = batches
    ds = load_cifar10(folder)
    data = written["test_batch"][b"data"]
    assert ds.images.shape == (4, 32, 32, 3) and ds.images.dtype == np.uint8
    # Rows hold the red plane, then green, then blue, each row-major.
    for channel in range(3):
        np.testing.assert_array_equal(ds.images[:, :, :, channel],
                                      data[:, channel * 1024:(channel + 1) * 1024]
                                      .reshape(4, 32, 32))
    assert ds.labels.tolist() == written["test_batch"][b"labels"]
    assert ds.classes == ["airplane", "automobile", "bird"]
    assert ds.name == "cifar10-test"


def test_train_joins_five_batches_from_the_parent_folder(batches):
    folder, written = batches
    ds = load_cifar10(folder.parent, split="train")
    assert len(ds) == 20
    assert ds.labels.tolist() == sum((written[f][b"labels"] for f in SPLIT_FILES["train"]), [])


def test_tarball_is_read_without_extracting(batches, tmp_path):
    folder, written = batches
    archive = tmp_path / "out" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    ds = load_cifar10(archive, split="train")
    assert len(ds) == 20
    np.testing.assert_array_equal(ds.images, load_cifar10(folder, split="train").images)
    assert [p.name for p in archive.parent.iterdir()] == [archive.name]


def test_numpy1_module_name_is_accepted(batches):
    """The official batches name numpy.core.multiarray, NumPy 1's module."""
    folder, written = batches
    data = pickle.dumps(written["test_batch"], protocol=3)  # text GLOBAL opcodes
    legacy = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n" in legacy
    (folder / "test_batch").write_bytes(legacy)
    np.testing.assert_array_equal(load_cifar10(folder).labels, written["test_batch"][b"labels"])


class CreatesFile:
    """Unpickling this would create a file: the classic pickle exploit, made harmless."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_malicious_pickle_is_refused_before_it_runs(batches, tmp_path):
    folder, _ = batches
    proof = tmp_path / "plain-pickle-ran-it"
    pickle.loads(pickle.dumps(CreatesFile(proof))).close()
    assert proof.exists()  # the payload works against a plain unpickler
    target = tmp_path / "pwned"
    evil = batch(9)
    evil[b"data"] = CreatesFile(target)
    dump(evil, folder / "test_batch")
    with pytest.raises(DatasetFormatError, match=r"refusing to unpickle io\.open"):
        load_cifar10(folder)
    assert not target.exists()


@pytest.mark.parametrize("protocol", [2, 5])
def test_globals_beyond_numpy_arrays_are_refused(batches, protocol):
    """Protocol 2 from Python 3 needs _codecs.encode; protocol 5 numpy's _frombuffer."""
    folder, written = batches
    dump(written["test_batch"], folder / "test_batch", protocol=protocol)
    with pytest.raises(DatasetFormatError, match="refusing to unpickle"):
        load_cifar10(folder)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({b"data": np.zeros((4, 3071), np.uint8)}, r"'data' must be uint8 \(N, 3072\)"),
        ({b"data": np.zeros((4, 3072), np.float32)}, "got float32"),
        ({b"labels": [0, 1, 2]}, "'labels' must be 4 ints"),
        ({b"labels": [0, 1, 2, 3]}, r"labels must lie in 0\.\.2"),
    ],
)
def test_malformed_batches_are_refused(batches, change, match):
    folder, written = batches
    dump({**written["test_batch"], **change}, folder / "test_batch")
    with pytest.raises(DatasetFormatError, match=match):
        load_cifar10(folder)


def test_not_a_dict_and_not_a_pickle(batches):
    folder, _ = batches
    dump([1, 2], folder / "test_batch")
    with pytest.raises(DatasetFormatError, match="should hold a dict; got list"):
        load_cifar10(folder)
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DatasetFormatError, match="not a readable pickle"):
        load_cifar10(folder)


def test_missing_batch_is_named(batches):
    folder, _ = batches
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch"):
        load_cifar10(folder)
