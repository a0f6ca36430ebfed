"""Seconds per training epoch of the recommended recipe at the larger working sizes.

For each image side (64 and 128 pixels by default, 3 channels) and width
(``dim_h``), it trains the library's ``recommended`` recipe on random pixels
(time does not depend on the content) in a 3:1 imbalance of two classes,
once for one epoch as a warm-up, then for ``--epochs`` epochs, and prints
one JSON line per run with the training time per epoch
(``training_seconds_ / epochs``) and the process's peak memory.

Usage::

    python bench/bench_sizes.py [--device cpu] [--sizes 64 128] [--widths 16 64]
                                [--n-images 200] [--epochs 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepclsmote import make_sampler  # noqa: E402


def run_one(side: int, dim_h: int, args) -> dict:
    rng = np.random.default_rng(0)
    n_major = args.n_images * 3 // 4
    y = np.array([0] * n_major + [1] * (args.n_images - n_major))
    X = rng.integers(0, 256, (len(y), side, side, 3), dtype=np.uint8)
    params = {"dim_h": dim_h, "batch_size": args.batch_size, "device": args.device,
              "random_state": 0}
    make_sampler("recommended", epochs=1, **params).fit(X, y)  # warm-up
    sampler = make_sampler("recommended", epochs=args.epochs, **params).fit(X, y)
    return {"image": f"3x{side}x{side}", "dim_h": dim_h, "n_z": sampler.autoencoder_config_.n_z,
            "images": len(X), "batch_size": args.batch_size, "epochs": args.epochs,
            "seconds_per_epoch": round(sampler.training_seconds_ / args.epochs, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "device": str(sampler.device_), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "machine": platform.machine()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    p.add_argument("--widths", type=int, nargs="+", default=[16, 64])
    p.add_argument("--n-images", type=int, default=200)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for side in args.sizes:
        for dim_h in args.widths:
            print(json.dumps(run_one(side, dim_h, args)), flush=True)


if __name__ == "__main__":
    main()
