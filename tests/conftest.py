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


#: Test files whose every test uses the machine's Redis (test_scaleout.py restarts it).
REDIS_FILES = ("test_scaleout.py", "test_health.py")


def worker_group(nodeid: str) -> str:
    """Which pytest-xdist worker group runs a test, from its node id alone.

    A test file's tests share one worker (its module-scoped services and trained models
    are made once); every test of the machine's Redis shares one worker too, since one of
    them restarts Redis, which would break the others. Parametrized ``scaleout`` cases
    (test_flow.py) use Redis; their ``embedded`` twins stay with their file.
    """
    path, _, rest = nodeid.partition("::")
    params = rest[rest.find("[") + 1:rest.rfind("]")] if "[" in rest else ""
    if path.rsplit("/", 1)[-1] in REDIS_FILES or "scaleout" in params.split("-"):
        return "redis"
    return path


@pytest.hookimpl(optionalhook=True)  # the image's test target has no xdist
def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs ``pytest -n 2 --dist loadgroup``: group by :func:`worker_group`.

    xdist's own loadgroup reads ``xdist_group`` marks through a node id suffix that
    pytest 9 no longer takes, so every test was scheduled on its own; this scheduler
    computes the group from the node id instead (the controller sees nothing else).
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return ByGroup(config, log)


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
