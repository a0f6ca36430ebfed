"""How good each method's new images are, and what measuring them costs.

Two measurements, JSON lines on stdout:

``--cost``: the quality report's cost against the rest of a generate job. A
recommended model is trained on an imbalanced MNIST pool at the ``cpu``
evaluation profile's widths; then 10,000 new 28x28 images are drawn, written
as a compressed ``.npz`` and drawn as a preview grid (the job's own work), and
measured: the real images' reference, the report with a warm (cached)
fidelity classifier, its preview, and, once, training that classifier.

``--service``: the same through the service, as a user meets it: ``deepclsmote
serve`` on a free loopback port and a fresh data folder, the pool uploaded,
a recommended model trained at the same widths, then three generate jobs of
10,000 images (the first trains the model's fidelity classifier, the next two
load it): each job's time from start to end, and the phases its result
records (sampling, quality, total after the model is loaded).

``--datasets``: fidelity, near-copies, novelty and spread of random
oversampling and of each recipe on the shared datasets: the papers' protocol
pool of one seed (the evaluate command's ``--imbalance paper`` pool at the
``cpu`` profile), each sampler trained at that profile's budget, every class
balanced, the fidelity classifier trained on the pool's images.

    .venv/bin/python bench/bench_quality.py --cost
    .venv/bin/python bench/bench_quality.py --service
    .venv/bin/python bench/bench_quality.py --datasets digits fashion mnist cifar10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deepclsmote import make_sampler
from deepclsmote.datasets import load_dataset
from deepclsmote.evaluation.config import PROFILES, ExperimentConfig
from deepclsmote.evaluation.experiment import _epochs_for
from deepclsmote.evaluation.methods import oversample
from deepclsmote.evaluation.protocol import draw, plan
from deepclsmote.figures import nearest_real_grid, real_vs_synthetic_grid
from deepclsmote.quality import fidelity_classifier, quality_report, reference

SHARED = Path(os.environ.get("DEEPCLSMOTE_SHARED_DATA", Path(__file__).parents[2] / "shared"
                             / "data"))
DATASETS = {
    "digits": ("digits", None),
    "fashion": (SHARED / "fashion-mnist-1000" / "fashion_mnist_test_subset1000.npz", None),
    "mnist": ("mnist", SHARED / "mnist"),
    "cifar10": (SHARED / "cifar10-test-jpg" / "cifar10-test-jpg.zip", None),
}


def _machine() -> dict:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def _pool(name: str, seed: int):
    path, data_dir = DATASETS[name]
    data = load_dataset(path, data_dir)
    cfg = ExperimentConfig(data.name, methods=["ros"], imbalance="paper", profile="cpu")
    p = plan(cfg, data.counts().tolist(), names=data.classes, colour=data.images.ndim == 4)
    pool, _ = draw(p, data.labels, seed=seed, names=data.classes)
    return data.images[pool], data.labels[pool]


def _sampler_params(n: int) -> dict:
    profile = PROFILES["cpu"]
    params = dict(profile["sampler"], device="cpu")
    params["epochs"] = _epochs_for(params["epochs"], profile["sampler_min_steps"], n,
                                   params["batch_size"])
    return params


def cost(n_new: int = 10_000, seed: int = 1) -> dict:
    X, y = _pool("mnist", seed)
    sampler = make_sampler("recommended", **_sampler_params(len(y)), random_state=seed)
    sampler.fit(X, y)
    classes = np.unique(y)
    request = {int(c): n_new // len(classes) for c in classes}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        X_new, y_new = sampler.sample(request, random_state=seed)
        t1 = time.perf_counter()
        np.savez_compressed(Path(tmp) / "samples.npz", images=X_new, labels=y_new)
        real_vs_synthetic_grid(Path(tmp) / "preview.png", X, y, X_new, y_new,
                               sampler.image_spec_)
        t2 = time.perf_counter()
        X_real, y_real = sampler.training_data()
        classifier = fidelity_classifier(X_real, y_real, spec=sampler.image_spec_,
                                         random_state=0)
        t3 = time.perf_counter()
        classifier.save(Path(tmp) / "c.pt")
        classifier = type(classifier).load(Path(tmp) / "c.pt")
        t4 = time.perf_counter()
        ref = reference(X_real, y_real)
        report, near, nearest = quality_report(X_real, y_real, X_new, y_new,
                                               classifier=classifier, encode=sampler.encode,
                                               ref=ref)
        nearest_real_grid(Path(tmp) / "pairs.png", X_new, y_new, X_real, nearest,
                          sampler.image_spec_, flagged=near)
        t5 = time.perf_counter()
    job = t2 - t0
    return {"bench": "quality_cost", "n_synthetic": int(len(y_new)), "image": [28, 28],
            "n_real": int(len(y)), "sampling_s": round(t1 - t0, 2),
            "writing_s": round(t2 - t1, 2), "classifier_training_s": round(t3 - t2, 2),
            "classifier_loading_s": round(t4 - t3, 2), "quality_warm_s": round(t5 - t4, 2),
            "quality_over_job": round((t5 - t3) / job, 3),
            "near_copy_share": report["overall"]["near_copy_share"], "machine": _machine()}


def service(n_new: int = 10_000, seed: int = 1) -> list[dict]:
    import io
    import socket
    import subprocess
    from datetime import datetime

    from app.client import Client

    X, y = _pool("mnist", seed)
    params = {k: v for k, v in _sampler_params(len(y)).items() if k != "device"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        log = (Path(tmp) / "serve.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port),
                                 "--data-dir", str(Path(tmp) / "data")],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            client = Client(f"http://127.0.0.1:{port}")
            for _ in range(120):
                try:
                    client.health()
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    time.sleep(0.5)
            buf = io.BytesIO()
            np.savez(buf, images=X, labels=y)
            npz = Path(tmp) / "mnist-pool.npz"
            npz.write_bytes(buf.getvalue())
            ds = client.upload_dataset(npz)
            model = client.wait(client.train(ds["id"], random_state=seed, **params)["id"])
            request = {str(c): n_new // len(np.unique(y)) for c in np.unique(y)}
            for run in range(3):
                job = client.wait(client.generate(model["model_id"], sampling_strategy=request,
                                                  random_state=run)["id"])
                took = (datetime.fromisoformat(job["finished_at"])
                        - datetime.fromisoformat(job["started_at"])).total_seconds()
                secs = job["result"]["seconds"]
                rows.append({"bench": "quality_service", "run": run + 1,
                             "classifier": "trained" if run == 0 else "loaded",
                             "n_synthetic": job["result"]["n_synthetic"], "job_s": round(took, 2),
                             **{f"{k}_s": v for k, v in secs.items()},
                             "quality_over_rest_of_job": round(secs["quality"]
                                                               / (took - secs["quality"]), 3),
                             "machine": _machine()})
                print(json.dumps(rows[-1]), flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            log.close()
            sys.stderr.write((Path(tmp) / "serve.log").read_text())
    return rows


def datasets(names: list[str], seed: int = 1) -> list[dict]:
    rows = []
    for name in names:
        X, y = _pool(name, seed)
        t0 = time.perf_counter()
        classifier = fidelity_classifier(X, y, random_state=0)
        ref = reference(X, y)
        for method in ("ros", "recommended", "deepclsmote-paper", "deepsmote-paper"):
            t1 = time.perf_counter()
            X_m, y_m, deep = oversample(method, X, y, sampler_params=_sampler_params(len(y)),
                                        random_state=seed)
            report, _, _ = quality_report(X, y, X_m[len(y):], y_m[len(y):],
                                          classifier=classifier, ref=ref,
                                          encode=deep.encode if deep is not None else None)
            rows.append({"bench": "quality", "dataset": name, "seed": seed, "method": method,
                         "pool": np.bincount(y).tolist(), **report["overall"],
                         "seconds": round(time.perf_counter() - t1, 1),
                         "classifier_seconds": round(t1 - t0, 1) if method == "ros" else None,
                         "machine": _machine()})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--service", action="store_true")
    parser.add_argument("--datasets", nargs="*", choices=sorted(DATASETS))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.cost:
        print(json.dumps(cost(seed=args.seed)), flush=True)
    if args.service:
        service(seed=args.seed)
    if args.datasets:
        datasets(args.datasets, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
