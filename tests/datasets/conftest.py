"""Helpers for the loader tests: real files from ../shared/data, tiny files written here."""

from __future__ import annotations

import numpy as np
import pytest

from ..conftest import SHARED_DATA, missing_data


@pytest.fixture
def shared():
    """A function from a path under ../shared/data to that path, skipping if it is absent."""

    def find(relative: str):
        path = SHARED_DATA / relative
        if not path.exists():
            missing_data(f"{relative} not found under {SHARED_DATA} (set DEEPCLSMOTE_SHARED_DATA)")
        return path

    return find


def write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as an uncompressed IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())
