"""Per-epoch training time: this library against DeepSMOTE's reference script.

The reference is ``DeepSMOTE_MNIST.py`` from github.com/dd1github/DeepSMOTE.
Its code is never part of this repository: pass the path of a copy you have
(for example from a clone), and this script copies it into a temporary folder
outside the repository, writes the same imbalanced MNIST images in the text
format it reads, points its paths there, sets its epoch count, runs it, and
times each epoch from its own per-epoch log lines. Then the library trains on
the same images with the same width, latent size, batch size and learning rate.

Usage::

    python bench/bench_reference.py --reference /path/to/DeepSMOTE_MNIST.py \
        [--epochs 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepclsmote import DeepCLSMOTE, DeepSMOTE  # noqa: E402
from deepclsmote.datasets import load_idx_pair  # noqa: E402
from deepclsmote.evaluation.imbalance import MNIST_TEST_COUNTS as COUNTS  # noqa: E402


def imbalanced_mnist(data_dir: Path):
    X, y = load_idx_pair(data_dir / "mnist/t10k-images-idx3-ubyte.gz",
                         data_dir / "mnist/t10k-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), n, replace=False)
                          for c, n in enumerate(COUNTS)])
    return X[idx], y[idx]


def prepare_reference(src: Path, work: Path, X, y, epochs: int) -> Path:
    """Copy the script into ``work``, with its paths and epochs pointed at our data."""
    root = work / "MNIST"
    for sub in ("trn_img", "trn_lab", "models/crs5/0"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # The script reads images as rows of 784 numbers; it feeds them to a Tanh
    # decoder as they are, so give it the [-1, 1] scaling the library uses.
    np.savetxt(root / "trn_img/0_trn_img.txt", X.reshape(len(X), -1) / 127.5 - 1.0, fmt="%.5f")
    np.savetxt(root / "trn_lab/0_trn_lab.txt", y, fmt="%d")
    code = src.read_text()
    code = code.replace(".../MNIST/", f"{root}/")
    code, n = re.subn(r"args\['epochs'\]\s*=\s*\d+", f"args['epochs'] = {epochs}", code)
    if n != 1 or f"{root}/trn_img/" not in code:
        raise SystemExit(f"{src} does not look like DeepSMOTE_MNIST.py (paths/epochs not found)")
    script = work / "DeepSMOTE_MNIST.py"
    script.write_text(code)
    return script


def run_reference(script: Path, device: str) -> list[float]:
    """Seconds of each epoch, from the time its 'Epoch:' lines appear."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    proc = subprocess.Popen([sys.executable, str(script)], cwd=script.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stamps, start = [], None
    assert proc.stdout is not None
    for line in proc.stdout:
        now = time.perf_counter()
        if line.startswith("train labels") or "Counter(" in line:
            start = now  # data loaded: training starts right after these lines
        if line.startswith("Epoch:"):
            stamps.append(now)
    if proc.wait() != 0:
        raise SystemExit(f"the reference script failed with exit code {proc.returncode}")
    edges = [start or stamps[0]] + stamps
    return [b - a for a, b in zip(edges, edges[1:], strict=False)]


def library_epochs(cls, X, y, epochs: int, device: str, **params) -> list[float]:
    times, last = [], [time.perf_counter()]

    def callback(epoch, total, parts):
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    sampler = cls(epochs=epochs, dim_h=64, n_z=300, batch_size=100, lr=2e-4, device=device,
                  random_state=0, callback=callback, **params)
    last[0] = time.perf_counter()
    sampler.fit(X, y)
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", required=True, type=Path)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    args = p.parse_args()
    X, y = imbalanced_mnist(Path(args.data_dir))
    with tempfile.TemporaryDirectory(prefix="deepsmote-ref-") as tmp:
        script = prepare_reference(args.reference, Path(tmp), X, y, args.epochs)
        ref = run_reference(script, args.device)
    trainers = [("DeepSMOTE", DeepSMOTE, {}), ("DeepCLSMOTE", DeepCLSMOTE, {}),
                ("DeepCLSMOTE_fused", DeepCLSMOTE, {"fused_step": True})]
    ours = {name: library_epochs(cls, X, y, args.epochs, args.device, **params)
            for name, cls, params in trainers}
    # The first epoch includes warm-up in every run: compare the later ones.
    def steady(t):
        return float(np.median(t[1:] if len(t) > 1 else t))

    report = {
        "images": len(X), "epochs": args.epochs, "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda")
        else "cpu", "threads": torch.get_num_threads(), "dim_h": 64, "n_z": 300,
        "batch_size": 100,
        "reference_epoch_s": [round(t, 3) for t in ref],
        **{f"{k}_epoch_s": [round(t, 3) for t in v] for k, v in ours.items()},
        "steady_epoch_s": {"reference": round(steady(ref), 3),
                           **{k: round(steady(v), 3) for k, v in ours.items()}},
    }
    report["speedup_vs_reference"] = {
        k: round(steady(ref) / steady(v), 2) for k, v in ours.items()
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
