"""Training throughput of this checkout against another one, runs interleaved.

Did a change slow training down? Each run trains the library's DeepCLSMOTE (and
DeepSMOTE) on the same 1,800 imbalanced MNIST test images as
``bench_training.py`` and reports images per second of its training loop; the
two checkouts take turns, so that a shared machine's drift falls on both alike.
Each run is a fresh process importing the library from its checkout.

    git worktree add /tmp/before <commit>
    OMP_NUM_THREADS=1 python bench/bench_ab.py --other /tmp/before --rounds 3

Prints one JSON line per run, then the median of each side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

RUN = r"""
import json, sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
import deepclsmote
from deepclsmote import DeepCLSMOTE, DeepSMOTE
from deepclsmote.datasets import load_idx_pair
from deepclsmote.evaluation.imbalance import MNIST_TEST_COUNTS as COUNTS
assert deepclsmote.__file__.startswith(sys.argv[1]), deepclsmote.__file__
data, dim_h, epochs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
extra = json.loads(sys.argv[5])
X_all, y_all = load_idx_pair(f"{data}/mnist/t10k-images-idx3-ubyte.gz",
                             f"{data}/mnist/t10k-labels-idx1-ubyte.gz")
rng = np.random.default_rng(0)
idx = np.concatenate([rng.choice(np.flatnonzero(y_all == c), n, replace=False)
                      for c, n in enumerate(COUNTS)])
X, y = X_all[idx], y_all[idx]
out = {}
for name, cls in [("deepclsmote", DeepCLSMOTE), ("deepsmote", DeepSMOTE)]:
    kw = dict(dim_h=dim_h, batch_size=100, device="cpu", random_state=0)
    cls(epochs=1, **kw).fit(X, y)  # warm-up
    s = cls(epochs=epochs, **kw, **(extra if name == "deepclsmote" else {})).fit(X, y)
    out[name] = round(len(X) * epochs / s.training_seconds_, 1)
out["threads"] = torch.get_num_threads()
print(json.dumps(out))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--other", required=True, type=Path, help="the other checkout")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--widths", type=int, nargs="+", default=[64, 16])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--params", default="{}",
                   help="JSON of extra DeepCLSMOTE parameters for this checkout's runs")
    p.add_argument("--data-dir", default=str(HERE.parent / "shared/data"))
    args = p.parse_args()
    sides = {"this": (HERE, args.params), "other": (args.other.resolve(), "{}")}
    results: dict = {}
    for r in range(args.rounds):
        for dim_h in args.widths:
            for side, (root, params) in sides.items():
                line = subprocess.run(
                    [sys.executable, "-c", RUN, str(root), args.data_dir, str(dim_h),
                     str(args.epochs), params],
                    check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
                row = {"round": r + 1, "side": side, "dim_h": dim_h, **json.loads(line)}
                print(json.dumps(row), flush=True)
                results.setdefault((side, dim_h), []).append(row)
    for (side, dim_h), rows in sorted(results.items()):
        print(json.dumps({"median": side, "dim_h": dim_h, **{
            k: statistics.median(r[k] for r in rows) for k in ("deepclsmote", "deepsmote")}}))


if __name__ == "__main__":
    main()
