"""Service benchmarks: status latency under load while training, and upload ingest speed.

1. Latency: a training job keeps the CPU busy; ``--clients`` concurrent
   clients (asyncio + httpx, in this process) each send ``--requests``
   GET /v1/jobs/{id} requests, pausing ``--interval`` seconds between two (a
   status poller), then as many GET /v1/jobs?limit=20 (the list) paced alike,
   and once more status requests back to back (saturation: the latency is then
   mostly queueing behind the other clients); p50/p90/p99/max, and errors.
2. Ingest: an ``.npz`` of about ``--upload-mb`` MB (uint8 RGB 32x32 images,
   10 classes) is uploaded ``--repeats`` times; seconds and MB/s from the
   client's first byte to the 201 (streaming, validation, canonical store).

Run from the repository root:  .venv/bin/python bench/bench_service.py --out bench.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.app.server import LiveServer, wait_for  # noqa: E402 - the tests' real-server helper


async def _client_loop(index: int, url: str, path: str, n: int, interval: float,
                       start: asyncio.Event, ready: list[int], out: list[float],
                       errors: list[str]):
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        await c.get(path)  # connect first: pollers keep their connection (not timed)
        ready.append(1)
        await start.wait()
        await asyncio.sleep(interval * np.random.default_rng(index).random())  # spread phases
        for _ in range(n):
            if interval:
                await asyncio.sleep(interval)
            t0 = time.perf_counter()
            try:
                r = await c.get(path)
                if r.status_code != 200:
                    errors.append(str(r.status_code))
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
            out.append(time.perf_counter() - t0)


async def _latency(url: str, path: str, clients: int, requests: int, interval: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    start, ready = asyncio.Event(), []
    tasks = [asyncio.create_task(_client_loop(i, url, path, requests, interval, start, ready,
                                              latencies, errors)) for i in range(clients)]
    while len(ready) < clients:
        await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {"requests": len(ms), "errors": len(errors), "seconds": round(wall, 2),
            "requests_per_second": round(len(ms) / wall, 1),
            **{f"p{q}_ms": round(float(np.percentile(ms, q)), 2) for q in (50, 90, 99)},
            "max_ms": round(float(ms.max()), 2)}


def bench_latency(srv: LiveServer, clients: int, requests: int, interval: float,
                  epochs: int) -> dict:
    with srv.client() as c:
        digits = next(d for d in c.get("/v1/datasets").json() if d["name"] == "digits")
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": digits["id"], "params": {
            "epochs": epochs, "dim_h": 32, "n_z": 32}}).json()
        wait_for(c, job["id"], until=lambda j: (j["progress"].get("epoch") or 0) >= 1)
        idle_check = c.get(f"/v1/jobs/{job['id']}").json()
        path = f"/v1/jobs/{job['id']}"
        result = {"paced": asyncio.run(_latency(srv.url, path, clients, requests, interval)),
                  "paced_list": asyncio.run(_latency(srv.url, "/v1/jobs?limit=20", clients,
                                                     requests, interval)),
                  "back_to_back": asyncio.run(_latency(srv.url, path, clients, requests, 0.0))}
        still = c.get(f"/v1/jobs/{job['id']}").json()
        c.post(f"/v1/jobs/{job['id']}/cancel")
        wait_for(c, job["id"], timeout=60)
    result["training_was_running"] = (idle_check["status"] == "running"
                                      and still["status"] == "running")
    result["epochs_during_test"] = [idle_check["progress"].get("epoch"),
                                    still["progress"].get("epoch")]
    return result


def _npz_file(target_mb: float, folder: Path) -> Path:
    n = int(target_mb * 1e6 / (32 * 32 * 3))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.choice(10, size=n, p=np.linspace(2, 0.2, 10) / np.linspace(2, 0.2, 10).sum())
    path = folder / "upload.npz"
    np.savez(path, images=images, labels=labels)
    return path


def bench_ingest(srv: LiveServer, target_mb: float, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = _npz_file(target_mb, Path(tmp))
        size = path.stat().st_size
        seconds = []
        with srv.client() as c:
            for i in range(repeats):
                with open(path, "rb") as f:
                    t0 = time.perf_counter()
                    r = c.post("/v1/datasets", files={"file": ("upload.npz", f)},
                               timeout=600)
                    seconds.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    raise RuntimeError(f"upload {i}: {r.status_code} {r.text[:300]}")
                c.delete(f"/v1/datasets/{r.json()['id']}")
    return {"bytes": size, "n_images": r.json()["n_images"], "seconds": [round(s, 2)
                                                                         for s in seconds],
            "mb_per_second": [round(size / 1e6 / s, 1) for s in seconds]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="per client")
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds between two requests of a client (paced run)")
    parser.add_argument("--epochs", type=int, default=2000, help="of the background training")
    parser.add_argument("--job-threads", type=int, default=0,
                        help="torch threads of the training job (0: the service's default)")
    parser.add_argument("--upload-mb", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        srv = LiveServer(Path(tmp), torch_threads=str(args.job_threads),
                         checkpoint_every="5",
                         max_upload_bytes=str(int(args.upload_mb * 1.2e6) + 10_000_000)).start()
        try:
            latency = bench_latency(srv, args.clients, args.requests, args.interval,
                                    args.epochs)
            ingest = bench_ingest(srv, args.upload_mb, args.repeats)
        finally:
            srv.stop()
    result = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} CPUs", "python": platform.python_version(),
              "clients": args.clients, "requests_per_client": args.requests,
              "interval_s": args.interval, "job_threads": args.job_threads,
              "status_latency": latency, "upload_ingest": ingest}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
