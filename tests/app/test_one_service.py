"""One embedded service per data directory, started as a person starts it (``deepclsmote serve``).

A second service on the same data directory must refuse to start before it
opens the database, so the first one's running job keeps its lease and its
attempts; a busy port is named in one line, without a traceback.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from .server import ROOT, LiveServer, free_port, wait_for

#: Long enough to be running while two more services try to start (seconds on one core).
SLOW = {"epochs": 20, "dim_h": 8, "n_z": 8, "batch_size": 32, "random_state": 3}


def _serve(srv: LiveServer, *args: str) -> tuple[int, str]:
    """Run ``deepclsmote serve ARGS`` with the first service's settings; (exit code, output)."""
    p = subprocess.Popen([sys.executable, "-m", "app", "serve", *args], cwd=ROOT, env=srv.env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        pytest.fail(f"the second service started instead of refusing: {out[-3000:]}")
    return p.returncode, out


def test_a_second_service_refuses_the_data_dir_and_the_port_and_leaves_the_job_alone(
        make_server, tmp_path):
    data = tmp_path / "data"
    first = make_server(data, cli=True).start()
    with first.client() as c:
        digits = next(d["id"] for d in c.get("/v1/datasets").json() if d["name"] == "digits")
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": digits,
                                       "params": SLOW}).json()
        running = wait_for(c, job["id"], until=lambda j: (j["progress"].get("epoch") or 0) >= 2)
        assert running["attempts"] == 1

        rc, out = _serve(first, "--port", str(free_port()), "--data-dir", str(data))
        assert rc == 1
        assert out.strip().splitlines() == [
            f"deepclsmote: error: another deepclsmote service (pid {first.process.pid}) is "
            f"using {data.resolve()}: stop it, or pass --data-dir"]

        other = tmp_path / "other"
        rc, out = _serve(first, "--port", str(first.port), "--data-dir", str(other))
        assert rc == 1
        assert out.strip().splitlines() == [
            f"deepclsmote: error: port {first.port} on 127.0.0.1 is in use: stop what "
            f"listens there, or pass --port"]
        assert not (other / "deepclsmote.db").exists()  # refused before the database

        # the job may have ended meanwhile (the refused services load PyTorch first, slowly on
        # a busy machine); either way it is on its first attempt, never restarted
        still = c.get(f"/v1/jobs/{job['id']}").json()
        assert still["status"] in ("running", "succeeded") and still["attempts"] == 1, still
        done = wait_for(c, job["id"])
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 1 and done["result"]["resumed_from_epoch"] == 0
    log = first.log.read_text()
    assert "was running when the service stopped" not in log and "lease lost" not in log


def test_once_the_first_service_stops_the_next_one_starts_on_its_data_dir_and_port(
        make_server, tmp_path):
    data = tmp_path / "data"
    first = make_server(data, cli=True).start()
    first.stop()
    assert first.process.returncode in (0, -signal.SIGTERM)  # uvicorn ends as it was told
    assert "deepclsmote is serving on http://127.0.0.1:" in first.log.read_text()
    second = make_server(data, cli=True, port=first.port).start()
    with second.client() as c:
        assert c.get("/v1/health").json() == {"status": "ok"}
    assert "Traceback" not in first.log.read_text()
