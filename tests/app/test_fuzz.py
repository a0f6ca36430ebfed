"""API fuzzing with Schemathesis against the live service's own OpenAPI schema.

Every check runs (Schemathesis 4's default; a ``--checks`` option would
override the per-operation settings of schemathesis.toml).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .server import ROOT, LiveServer, wait_for

CONFIG = Path(__file__).with_name("schemathesis.toml")
STATEFUL = Path(__file__).with_name("schemathesis-stateful.toml")


def _target(tmp_path: Path) -> LiveServer:
    """The service under fuzzing: one API key, no rate limit, uploads up to 2 MB."""
    return LiveServer(tmp_path / "svc", api_keys="fuzz:fuzz-key", rate_limit="0",
                      max_upload_bytes="2000000").start()


def _schemathesis(srv: LiveServer, config: Path, *args: str,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    st = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    return subprocess.run(
        [st, "--config-file", str(config), "run", f"{srv.url}/openapi.json",
         "-H", "X-API-Key: fuzz-key", "--seed", "1", "--request-timeout", "60",
         "--generation-database", "none", "--no-color", *args],
        capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)


def test_schemathesis_finds_no_server_error_or_undocumented_answer(tmp_path):
    srv = _target(tmp_path)
    try:
        r = _schemathesis(srv, CONFIG, "--max-examples", "15",
                          "--phases", "examples,coverage,fuzzing,stateful")
    finally:
        srv.stop()
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "Server error" not in r.stdout
    print(*re.findall(r"Operations:.*|\d+ generated.*|API Links:.*", r.stdout), sep="\n")


def test_stateful_chains_go_from_upload_through_training_to_generation(tmp_path):
    """The stateful phase alone, following the schema's links. Hooks (fuzz_hooks.py)
    make uploads valid and let accepted train jobs finish, so a chain can go from an
    upload to a train job, its model and a generate job. Every job the fuzzer
    started must end, and none with an internal error."""
    srv = _target(tmp_path)
    try:
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.app.fuzz_hooks",
               "FUZZ_BASE_URL": srv.url, "FUZZ_API_KEY": "fuzz-key",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        r = _schemathesis(srv, STATEFUL, "--max-examples", "40", "--phases", "stateful",
                          env=env)
        assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
        covered = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", r.stdout)
        assert covered, r.stdout[-3000:]
        with srv.client("fuzz-key") as c:
            uploaded = {d["id"] for d in c.get("/v1/datasets").json() if d["name"] == "fuzzed"}
            jobs = c.get("/v1/jobs", params={"limit": 1000}).json()
            summary = [(j["kind"], j["status"]) for j in jobs]
            trained = {j["result"]["model_id"] for j in jobs if j["kind"] == "train"
                       and j["dataset_id"] in uploaded and j["status"] == "succeeded"}
            chained = [j for j in jobs if j["kind"] == "generate" and j["model_id"] in trained]
            assert uploaded and trained and chained, summary  # upload -> train -> generate
            # the fuzzer queued more jobs than are worth the wait: all but the first chained
            # generate job that it did not cancel itself (the schema links a job to its
            # cancel) are cancelled; every job must then end, none with an internal error
            live = [j for j in chained if not j["cancel_requested"]]
            first = min(live, key=lambda j: j["created_at"]) if live else None
            for job in jobs:
                if first is None or job["id"] != first["id"]:
                    assert c.post(f"/v1/jobs/{job['id']}/cancel").status_code == 200
            ended = [wait_for(c, job["id"]) for job in jobs]
            assert all(j["status"] in ("succeeded", "cancelled", "failed") for j in ended)
            assert not [j for j in ended if j["error"] and j["error"]["code"] == "internal_error"]
            if first is None:  # every chained job was cancelled by the fuzzer: generate once
                r = c.post("/v1/jobs", json={"kind": "generate",
                                             "model_id": chained[0]["model_id"]})
                assert r.status_code == 202, r.text
                first = r.json()
            assert wait_for(c, first["id"])["status"] == "succeeded", summary
        print(f"stateful: {covered.group(1)} of {covered.group(2)} links covered; "
              f"{len(uploaded)} uploads, {len(jobs)} jobs ({len(trained)} trained models, "
              f"{len(chained)} generate jobs from them)")
    finally:
        srv.stop()
