"""API fuzzing with Schemathesis against the live service's own OpenAPI schema.

Every check runs (Schemathesis 4's default; a ``--checks`` option would
override the per-operation settings of schemathesis.toml).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from .server import LiveServer, wait_for

TINY = {"epochs": 1, "dim_h": 4, "n_z": 4}

CONFIG = Path(__file__).with_name("schemathesis.toml")
STATEFUL = Path(__file__).with_name("schemathesis-stateful.toml")


def _schemathesis(srv: LiveServer, config: Path, *args: str) -> subprocess.CompletedProcess:
    st = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    return subprocess.run(
        [st, "--config-file", str(config), "run", f"{srv.url}/openapi.json",
         "-H", "X-API-Key: fuzz-key", "--seed", "1", "--request-timeout", "60",
         "--generation-database", "none", "--no-color", *args],
        capture_output=True, text=True, timeout=900)


def test_schemathesis_finds_no_server_error_or_undocumented_answer(tmp_path):
    srv = LiveServer(tmp_path / "svc", api_keys="fuzz:fuzz-key", rate_limit="0",
                     max_upload_bytes="2000000").start()
    try:
        r = _schemathesis(srv, CONFIG, "--max-examples", "15",
                          "--phases", "examples,coverage,fuzzing,stateful")
    finally:
        srv.stop()
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "Server error" not in r.stdout
    print(*re.findall(r"Operations:.*|\d+ generated.*|API Links:.*", r.stdout), sep="\n")


def test_stateful_chains_reach_training_and_generation(tmp_path):
    """The stateful phase alone, from a tenant that already has a model: chains follow
    the links from lists to a dataset, a train job, a model, a generate job and its
    artifacts. Every job the fuzzer started must end, and none with an internal error."""
    srv = LiveServer(tmp_path / "svc", api_keys="fuzz:fuzz-key", rate_limit="0",
                     max_upload_bytes="2000000").start()
    try:
        with srv.client("fuzz-key") as c:
            ds = next(d for d in c.get("/v1/datasets").json() if d["name"] == "digits")
            seeded = wait_for(c, c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                                          "params": TINY}).json()["id"])
            assert seeded["status"] == "succeeded", seeded
            r = _schemathesis(srv, STATEFUL, "--max-examples", "40", "--phases", "stateful")
            assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
            covered = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", r.stdout)
            assert covered, r.stdout[-3000:]
            print(f"stateful: {covered.group(1)} of {covered.group(2)} links covered")
            jobs = [j for j in c.get("/v1/jobs").json() if j["id"] != seeded["id"]]
            summary = [(j["kind"], j["status"]) for j in jobs]
            # the chains list -> dataset -> train or evaluate job, and list -> model -> generate
            assert any(j["kind"] in ("train", "evaluate") and j["dataset_id"] == ds["id"]
                       for j in jobs), summary
            chained = [j for j in jobs
                       if j["kind"] == "generate" and j["model_id"] == seeded["model_id"]]
            assert chained, summary
            # the fuzzer queued more jobs than are worth the wait: all but the first chained
            # generate job are cancelled; every job must then end, none with an internal error
            first = min(chained, key=lambda j: j["created_at"])
            for job in jobs:
                if job["id"] != first["id"]:
                    assert c.post(f"/v1/jobs/{job['id']}/cancel").status_code == 200
            ended = [wait_for(c, job["id"]) for job in jobs]
            assert all(j["status"] in ("succeeded", "cancelled", "failed") for j in ended)
            assert not [j for j in ended if j["error"] and j["error"]["code"] == "internal_error"]
            assert wait_for(c, first["id"])["status"] == "succeeded"
            print(f"stateful: {len(jobs)} jobs submitted by the fuzzer, "
                  f"{len(chained)} of them generate jobs from the listed model")
    finally:
        srv.stop()
