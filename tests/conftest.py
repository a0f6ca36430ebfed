"""Shared fixtures: real data from ../shared/data and tiny, fast samplers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from deepclsmote.datasets import load_digits_images, load_idx_pair

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DEEPCLSMOTE_SHARED_DATA", ROOT.parent / "shared" / "data"))



def missing_data(reason: str):
    """Skip a test whose real data is absent, but fail in CI, where it must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI runs with ../shared/data beside the clone", pytrace=False)
    pytest.skip(reason)


#: Smallest networks that still train: seconds per fit on the CPU.
TINY = {"dim_h": 4, "n_z": 8, "epochs": 1, "batch_size": 16, "device": "cpu"}


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    # `make test` runs two pytest workers (xdist) on two cores: one thread each
    torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)


def pytest_collection_modifyitems(items):
    """Under ``pytest -n 2 --dist loadgroup``, keep each test file on one worker (its
    module-scoped services and trained models are made once), and every test that uses the
    machine's Redis on one worker: one of them restarts Redis, which would break the others."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        uses_redis = ("redis_url" in getattr(item, "fixturenames", ())
                      or any(isinstance(v, str) and v == "scaleout" for v in params.values())
                      or item.path.name == "test_scaleout.py")
        item.add_marker(pytest.mark.xdist_group("redis" if uses_redis else item.path.stem))


@pytest.fixture(scope="session")
def mnist():
    """The MNIST test set (10,000 images) from ../shared/data."""
    folder = SHARED_DATA / "mnist"
    images = folder / "t10k-images-idx3-ubyte.gz"
    if not images.is_file():
        missing_data(f"MNIST not found at {folder} (set DEEPCLSMOTE_SHARED_DATA)")
    return load_idx_pair(images, folder / "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="session")
def digits():
    return load_digits_images()


@pytest.fixture
def small_imbalanced(digits):
    """60 digits images of three classes, 30/20/10."""
    X, y = digits
    idx = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in [(0, 30), (1, 20), (2, 10)]])
    return X[idx], y[idx]
