"""Training and generation throughput of the library, printed as JSON.

For each image shape (1x28x28, 3x32x32) and width (the paper's dim_h=64 and
a narrow dim_h=16) it measures, on the same images and batch size:

- ``bare_ae``: a bare forward+backward+Adam step of the encoder and decoder on
  one batch (plain reconstruction MSE): what an autoencoder step costs;
- ``bare_same_work``: bare steps that make the same network passes as a
  DeepCLSMOTE step (the batch, DeepSMOTE's one-class penalty batch and the
  class-balanced batch of the class-latent term), with trivial losses: the
  limit the library's training can approach;
- ``deepsmote`` and ``deepclsmote``: the library's training loop;
- ``deepclsmote_fused``: the same with ``fused_step=True`` (one encoder pass
  over the batch and the class-balanced batch, one decoder pass for the
  reconstruction and the penalty);
- ``generate``: latent SMOTE plus decoding, samples per second;
- peak memory (CUDA allocator peak on a GPU, process peak RSS on the CPU).

``overhead_vs_same_work`` is the share of DeepCLSMOTE's time spent outside
the network passes (losses, sampling, bookkeeping); ``fused_overhead_vs_same_work``
the same for the fused step, which may come out negative where its larger
passes run faster than the separate ones.

Usage::

    python bench/bench_training.py [--device cpu] [--epochs 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepclsmote import DeepCLSMOTE, DeepSMOTE  # noqa: E402
from deepclsmote.evaluation.imbalance import MNIST_TEST_COUNTS as COUNTS  # noqa: E402
from deepclsmote.nn import AutoencoderConfig, build_autoencoder  # noqa: E402


def load_images(shape, n_images: int, data_dir: Path):
    """Real MNIST for 1x28x28 when present; random pixels otherwise (speed only)."""
    rng = np.random.default_rng(0)
    counts = np.maximum(2, np.round(np.array(COUNTS) * n_images / sum(COUNTS))).astype(int)
    y = np.repeat(np.arange(10), counts)
    if shape == (1, 28, 28) and (data_dir / "mnist").is_dir():
        from deepclsmote.datasets import load_idx_pair

        X_all, y_all = load_idx_pair(data_dir / "mnist/t10k-images-idx3-ubyte.gz",
                                     data_dir / "mnist/t10k-labels-idx1-ubyte.gz")
        idx = np.concatenate([rng.choice(np.flatnonzero(y_all == c), n, replace=False)
                              for c, n in enumerate(counts)])
        return X_all[idx], y_all[idx], "MNIST test set, imbalanced"
    c, h, w = shape
    X = rng.integers(0, 256, (len(y), h, w, c), dtype=np.uint8)
    return X, y, "random pixels"


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def best_of(repeats: int, fn, *args):
    """The best of ``repeats`` runs: throughput noise on a shared machine only slows."""
    return max(fn(*args) for _ in range(repeats))


def bare_steps(cfg, X, y, batch_size, epochs, device, same_work: bool) -> float:
    """Images/s of bare network steps (optionally the same passes as DeepCLSMOTE)."""
    enc, dec = build_autoencoder(cfg)
    enc, dec = enc.to(device), dec.to(device)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=2e-4)
    Xt = torch.from_numpy(X).to(device)
    n = len(Xt)
    counts = np.bincount(y)
    rng = np.random.default_rng(0)
    per_class = max(2, batch_size // len(counts))
    mse = torch.nn.functional.mse_loss

    def epoch():
        for b in torch.randperm(n, device=device).split(batch_size):
            xb = Xt[b]
            loss = mse(dec(enc(xb)), xb)
            if same_work:
                size = min(batch_size, int(counts[rng.integers(len(counts))]))
                xc = Xt[:size]
                with torch.no_grad():
                    zc = enc(xc)
                loss = loss + mse(dec(zc), xc)
                loss = loss + enc(Xt[: per_class * len(counts)]).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    epoch()  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    _sync(device)
    return n * epochs / (time.perf_counter() - start)


def library_training(cls, X, y, dim_h, batch_size, epochs, device, repeats, **params):
    """Images/s of the library's training loop (after a one-epoch warm-up fit)."""
    kwargs = {"dim_h": dim_h, "batch_size": batch_size, "device": device, "random_state": 0,
              **params}
    cls(epochs=1, **kwargs).fit(X, y)  # warm-up (allocator, cudnn autotuning)
    best, sampler = 0.0, None
    for _ in range(repeats):
        sampler = cls(epochs=epochs, **kwargs).fit(X, y)
        best = max(best, len(X) * epochs / sampler.training_seconds_)
    return best, sampler


def generation_rate(sampler, n: int) -> float:
    request = {cls: n // len(sampler.classes_) for cls in sampler.classes_.tolist()}
    sampler.sample(request)  # warm-up
    _sync(sampler.device_)
    start = time.perf_counter()
    X_new, _ = sampler.sample(request)
    _sync(sampler.device_)
    return len(X_new) / (time.perf_counter() - start)


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args) -> dict:
    device = torch.device(args.device if args.device != "auto" else
                          ("cuda" if torch.cuda.is_available() else "cpu"))
    results = []
    for shape in [(1, 28, 28), (3, 32, 32)]:
        X, y, source = load_images(shape, args.n_images, Path(args.data_dir))
        Xn = (X.astype(np.float32) / 127.5 - 1.0)
        Xn = Xn[:, None] if Xn.ndim == 3 else Xn.transpose(0, 3, 1, 2)
        Xn = np.ascontiguousarray(Xn)
        for dim_h in args.widths:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            n_z = 300 if shape[0] == 1 else 600
            cfg = AutoencoderConfig(*shape, dim_h=dim_h, n_z=n_z)
            row = {"shape": list(shape), "dim_h": dim_h, "n_z": n_z, "images": len(X),
                   "batch_size": args.batch_size, "data": source}
            torch.manual_seed(0)
            common = (args.batch_size, args.epochs, device)
            row["bare_ae_img_s"] = best_of(args.repeats, bare_steps, cfg, Xn, y, *common, False)
            row["bare_same_work_img_s"] = best_of(args.repeats, bare_steps, cfg, Xn, y, *common,
                                                  True)
            row["deepsmote_img_s"], _ = library_training(DeepSMOTE, X, y, dim_h, *common,
                                                         args.repeats)
            row["deepclsmote_img_s"], sampler = library_training(DeepCLSMOTE, X, y, dim_h,
                                                                 *common, args.repeats)
            row["deepclsmote_fused_img_s"], _ = library_training(
                DeepCLSMOTE, X, y, dim_h, *common, args.repeats, fused_step=True)
            row["overhead_vs_same_work"] = 1 - row["deepclsmote_img_s"] / row[
                "bare_same_work_img_s"]
            row["fused_overhead_vs_same_work"] = 1 - row["deepclsmote_fused_img_s"] / row[
                "bare_same_work_img_s"]
            row["generate_samples_s"] = generation_rate(sampler, args.n_generate)
            row["peak_memory_mb"] = peak_memory_mb(device)
            results.append({k: round(v, 3) if isinstance(v, float) else v
                            for k, v in row.items()})
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    return {
        "machine": {
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "epochs_timed": args.epochs,
        "repeats": args.repeats,
        "results": results,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--n-images", type=int, default=1800)
    p.add_argument("--n-generate", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=2, help="report the best of this many runs")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--widths", type=int, nargs="+", default=[64, 16])
    p.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args()
    report = run(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
