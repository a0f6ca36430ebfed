"""Scale-out figures: eight small trainings on one worker against two; enqueue-to-start latency.

Needs the machine's PostgreSQL (127.0.0.1:5432, trust auth) and Redis
(127.0.0.1:6379). For each worker count, a fresh database and broker queue,
an API node and the workers (CPU, each job process one torch thread by the
service's default on 2 cores); ``--jobs`` train jobs on the built-in digits
set are submitted at once and the wall time runs from the first submission to
the last job's end. Then, on one idle worker, ``--probes`` tiny jobs one after
another: ``started_at - created_at`` (the job row's own timestamps: API node
receives it -> a worker has claimed it).

Run from the repository root:  .venv/bin/python bench/bench_scaleout.py --out scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.app.server import Cluster, wait_for  # noqa: E402 - the tests' real-server helpers

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _database() -> tuple[str, sa.Engine, str]:
    name = f"deepclsmote_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", admin, name


def _seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def run(workers: int, jobs: int, epochs: int, probes: int) -> dict:
    url, admin, name = _database()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cluster = Cluster(Path(tmp), url, "redis://127.0.0.1:6379/15").start(workers)
            try:
                with cluster.api.client() as c:
                    ds = next(d["id"] for d in c.get("/v1/datasets").json()
                              if d["name"] == "digits")
                    t0 = time.perf_counter()
                    ids = [c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                                    "params": {"epochs": epochs, "dim_h": 8,
                                                               "n_z": 8, "random_state": i}}
                                  ).json()["id"] for i in range(jobs)]
                    done = [wait_for(c, i, timeout=1800) for i in ids]
                    wall = time.perf_counter() - t0
                    assert all(d["status"] == "succeeded" for d in done), done
                    runners = sorted({d["result"]["runner"].split(":")[0] for d in done})
                    waits = []
                    for i in range(probes if workers == 1 else 0):
                        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                                       "params": {"epochs": 1, "dim_h": 4,
                                                                  "n_z": 4,
                                                                  "random_state": 1000 + i}}
                                     ).json()
                        job = wait_for(c, job["id"], timeout=300)
                        waits.append(_seconds(job["created_at"], job["started_at"]))
            finally:
                cluster.stop()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    out: dict = {"workers": workers, "jobs": jobs, "epochs": epochs,
                 "wall_seconds": round(wall, 1), "runners": runners}
    if waits:
        ms = np.array(waits) * 1000
        out["enqueue_to_start_ms"] = {"n": len(ms), "p50": round(float(np.percentile(ms, 50)), 1),
                                      "p99": round(float(np.percentile(ms, 99)), 1),
                                      "max": round(float(ms.max()), 1)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--out")
    args = parser.parse_args()
    results = [run(w, args.jobs, args.epochs, args.probes) for w in (1, 2)]
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "python": platform.python_version(), "runs": results,
              "speedup": round(results[0]["wall_seconds"] / results[1]["wall_seconds"], 2)}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
