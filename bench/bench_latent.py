"""What the class-latent term does to the latent space, measured on real MNIST.

On DeepSMOTE's imbalanced MNIST split scaled to fit the 10,000-image test set
(``[800, 400, 200, 150, 100, 70, 40, 20, 12, 8]`` for training, the rest held
out), for DeepSMOTE and DeepCLSMOTE variants and several seeds:

- class silhouette of the latent codes, training images and held-out images;
- held-out reconstruction MSE (images in [-1, 1]): the term must not buy its
  clustering with worse reconstruction;
- how often synthetic images are read as their class by a logistic
  regression trained on 4,000 real held-out digits (all classes and the three
  rarest), with direct and residual decoding.

Usage::

    python bench/bench_latent.py [--seeds 0 1 2] [--epochs 20] [--dim-h 16] [--n-z 32]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepclsmote import DeepCLSMOTE, DeepSMOTE  # noqa: E402
from deepclsmote.datasets import load_idx_pair  # noqa: E402
from deepclsmote.evaluation.imbalance import MNIST_TEST_COUNTS as COUNTS  # noqa: E402

VARIANTS = {
    "DeepSMOTE": (DeepSMOTE, {}),
    "DeepCLSMOTE (defaults)": (DeepCLSMOTE, {}),
    "DeepCLSMOTE, EMA centroids": (DeepCLSMOTE, {"centroids": "ema"}),
    "DeepCLSMOTE, no balanced batches": (DeepCLSMOTE, {"balanced_batches": False}),
    "DeepCLSMOTE, heavier weights 0.5/0.05": (DeepCLSMOTE, {"w_compact": 0.5,
                                                            "w_separation": 0.05}),
    "DeepCLSMOTE, paper penalty": (DeepCLSMOTE, {"penalty": "paper"}),
}


def split(X, y, seed):
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.choice(np.flatnonzero(y == c), n, replace=False)
                            for c, n in enumerate(COUNTS)])
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), train))
    return train, rest[:4000], rest[4000:6000]


def held_out_mse(sampler, X) -> float:
    spec = sampler.image_spec_
    x = torch.from_numpy(X.astype(np.float32) / 127.5 - 1.0)[:, None].to(sampler.device_)
    z = torch.from_numpy(sampler.encode(X)).to(sampler.device_)
    with torch.no_grad():
        x_hat = sampler.decoder_(z)
    assert spec.height == x.shape[2]
    return float(torch.mean((x_hat - x) ** 2))


def judge_scores(judge, X_syn, y_syn) -> tuple[float, float]:
    pred = judge.predict(X_syn.reshape(len(X_syn), -1) / 255.0)
    rare = [np.mean(pred[y_syn == c] == c) for c in (7, 8, 9)]
    return float(np.mean(pred == y_syn)), float(np.mean(rare))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--dim-h", type=int, default=16)
    p.add_argument("--n-z", type=int, default=32)
    p.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    args = p.parse_args()
    root = Path(args.data_dir) / "mnist"
    X, y = load_idx_pair(root / "t10k-images-idx3-ubyte.gz", root / "t10k-labels-idx1-ubyte.gz")
    rows: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for seed in args.seeds:
        train, judge_idx, test_idx = split(X, y, seed)
        judge = LogisticRegression(max_iter=300).fit(X[judge_idx].reshape(-1, 784) / 255.0,
                                                     y[judge_idx])
        for name, (cls, extra) in VARIANTS.items():
            sampler = cls(epochs=args.epochs, dim_h=args.dim_h, n_z=args.n_z, batch_size=64,
                          random_state=seed, device="cpu", **extra)
            start = time.perf_counter()
            X_res, y_res = sampler.fit_resample(X[train], y[train])
            seconds = time.perf_counter() - start
            direct = judge_scores(judge, X_res[len(train):], y_res[len(train):])
            sampler.set_params(decoding="residual")
            residual = judge_scores(judge, *sampler.sample())
            row = {
                "seed": seed, "seconds": seconds,
                "silhouette_train": float(silhouette_score(sampler.encode(X[train]), y[train])),
                "silhouette_held_out": float(silhouette_score(sampler.encode(X[test_idx]),
                                                              y[test_idx])),
                "mse_held_out": held_out_mse(sampler, X[test_idx]),
                "judge_direct": direct[0], "judge_direct_rare3": direct[1],
                "judge_residual": residual[0], "judge_residual_rare3": residual[1],
            }
            rows[name].append(row)
            print(json.dumps({"variant": name, **row}), file=sys.stderr, flush=True)
    summary = {}
    for name, rs in rows.items():
        keys = [k for k in rs[0] if k != "seed"]
        summary[name] = {k: [round(float(np.mean([r[k] for r in rs])), 4),
                             round(float(np.std([r[k] for r in rs])), 4)] for k in keys}
    print(json.dumps({"args": vars(args), "mean_std": summary}, indent=2))


if __name__ == "__main__":
    main()
