"""Scouting run of ``deepclsmote evaluate`` with a method the library does not ship.

``scout_x<K>``: ``deepclsmote_transfer_wide`` growing every class, the largest
included, to K times the largest (``deepclsmote_transfer_wide_x2`` is K = 2).
Measured on Fashion-MNIST with K = 3 (docs/results.md); it did worse than
K = 2, so it stays out of the library. Everything after ``--times K`` is the
evaluate command's own arguments::

    python bench/evaluate_scout.py --times 3 evaluate --dataset ... --methods ros,scout_x3 ...
"""

from __future__ import annotations

import sys

import numpy as np

from deepclsmote.cli import main
from deepclsmote.evaluation import methods
from deepclsmote.sampler import DeepCLSMOTE


def times_the_largest(k: int):
    def strategy(y) -> dict:
        classes, counts = np.unique(np.asarray(y), return_counts=True)
        return {c: k * int(counts.max()) for c in classes.tolist()}
    return strategy


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "--times":
        sys.exit(__doc__)
    k, argv = int(sys.argv[2]), sys.argv[3:]
    name = f"scout_x{k}"
    methods.METHODS[name] = f"deepclsmote_transfer_wide, every class to {k} times the largest"
    methods._DEEP[name] = (DeepCLSMOTE, {**methods._WIDE,
                                         "sampling_strategy": times_the_largest(k)})
    sys.exit(main(argv))
