"""One torch thread for these tiny networks.

Their layers are too small to gain from a second thread, and on a busy machine
two OpenMP threads waiting on each other made one epoch on digits some fifty
times slower (5 s instead of 0.1 s).
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
