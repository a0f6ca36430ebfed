"""One torch thread for these tiny networks, and a fast budget that is not a wiring check.

Their layers are too small to gain from a second thread, and on a busy machine
two OpenMP threads waiting on each other made one epoch on digits some fifty
times slower (5 s instead of 0.1 s).

A ``smoke`` run states no findings and no answers (its figures mean nothing),
so the tests of those use profile ``fast``: smoke's budget under another name.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope="session")
def _fast_profile():
    from deepclsmote.evaluation.config import PROFILES

    PROFILES["fast"] = dict(PROFILES["smoke"])
    yield
    del PROFILES["fast"]
