"""Jobs per hour on one device, with 1, 4 and 8 jobs per device; and the time to train the
recommended recipe on MNIST's imbalanced pool.

``--jobs-per-device 1 4 8``: the embedded service (uvicorn on a loopback port,
its own job processes) with ``DEEPCLSMOTE_JOBS_PER_DEVICE`` set to each value
runs the README's train job (built-in digits, ``epochs=30``, every other
parameter the recommended recipe's) ``--jobs`` times, each with its own seed;
jobs per hour is the count over the wall time from the first submission to the
last job's end.

``--mnist``: the recommended recipe at its own defaults (``dim_h=64``,
``n_z=300``, 50 epochs, batch 100) trained on an imbalanced MNIST pool in the
papers' proportions: their training counts (4,000 down to 40) when MNIST's
training files are in ``--data-dir``, else the test set's scaled to fit (800
down to 8), as the output says.

    .venv/bin/python bench/bench_jobs.py --device cuda --jobs-per-device 1 4 8 --jobs 16
    .venv/bin/python bench/bench_jobs.py --device cuda --mnist
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.app.server import LiveServer, wait_for  # noqa: E402 - the tests' real-server helper


def jobs_per_hour(device: str, per_device: int, n_jobs: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        srv = LiveServer(Path(tmp), device=device, jobs_per_device=str(per_device),
                         torch_threads="0", checkpoint_every="10").start()
        try:
            with srv.client() as c:
                ds = next(d["id"] for d in c.get("/v1/datasets").json()
                          if d["name"] == "digits")
                t0 = time.monotonic()
                ids = [c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds, "params": {
                    "epochs": epochs, "random_state": i}}).json()["id"] for i in range(n_jobs)]
                done = [wait_for(c, i, timeout=24 * 3600) for i in ids]
                wall = time.monotonic() - t0
                ready = c.get("/v1/ready").json()
        finally:
            srv.stop()
    statuses = sorted({d["status"] for d in done})
    seconds = [d["result"]["training_seconds"] for d in done if d["status"] == "succeeded"]
    return {"bench": "jobs_per_hour", "device": ready.get("device"),
            "jobs_per_device": per_device, "jobs": n_jobs, "epochs": epochs,
            "statuses": statuses, "wall_s": round(wall, 1),
            "jobs_per_hour": round(3600 * n_jobs / wall, 1),
            "training_s_median": round(float(np.median(seconds)), 1) if seconds else None}


def mnist_time(device: str, data_dir: Path) -> dict:
    from deepclsmote import make_sampler
    from deepclsmote.datasets import load_idx_pair
    from deepclsmote.evaluation.imbalance import MNIST_TEST_COUNTS, PAPER_COUNTS

    root = data_dir / "mnist"
    train = root / "train-images-idx3-ubyte.gz"
    if train.is_file():
        X, y = load_idx_pair(train, root / "train-labels-idx1-ubyte.gz")
        counts, source = PAPER_COUNTS["mnist"], "MNIST training set, the papers' counts"
    else:
        X, y = load_idx_pair(root / "t10k-images-idx3-ubyte.gz",
                             root / "t10k-labels-idx1-ubyte.gz")
        counts, source = MNIST_TEST_COUNTS, "MNIST test set, the papers' counts scaled to fit"
    rng = np.random.default_rng(0)
    keep = np.concatenate([rng.choice(np.flatnonzero(y == c), n, replace=False)
                           for c, n in enumerate(counts)])
    sampler = make_sampler("recommended", device=device, random_state=0)
    t0 = time.perf_counter()
    sampler.fit(X[keep], y[keep])
    fit = time.perf_counter() - t0
    X_new, _ = sampler.sample("auto")
    return {"bench": "recommended_mnist", "pool": source, "images": int(len(keep)),
            "epochs": sampler.n_epochs_, "device": str(sampler.device_),
            "fit_s": round(fit, 1), "synthetic": int(len(X_new)),
            "total_s": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--jobs-per-device", type=int, nargs="*", default=[])
    p.add_argument("--jobs", type=int, default=8, help="train jobs for each jobs-per-device")
    p.add_argument("--epochs", type=int, default=30, help="the README's train job: 30")
    p.add_argument("--mnist", action="store_true")
    p.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared"
                                             / "data"))
    args = p.parse_args(argv)
    machine = {"host": platform.node(), "python": platform.python_version()}
    for k in args.jobs_per_device:
        print(json.dumps({**jobs_per_hour(args.device, k, args.jobs, args.epochs),
                          "machine": machine}), flush=True)
    if args.mnist:
        print(json.dumps({**mnist_time(args.device, Path(args.data_dir)), "machine": machine}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
