"""Faults at chosen and at random moments: full disk, killed job processes, killed service."""

from __future__ import annotations

import hashlib
import os
import random
import signal

import pytest

from .server import LiveServer, children, wait_for

TINY = {"epochs": 2, "dim_h": 4, "n_z": 4}


def _digits(c) -> str:
    return next(d["id"] for d in c.get("/v1/datasets").json() if d["name"] == "digits")


def _check_artifacts(srv: LiveServer, c, job: dict) -> None:
    """Every listed artifact is there, whole: its bytes match its checksum."""
    for a in c.get(f"/v1/jobs/{job['id']}/artifacts").json():
        r = c.get(a["url"])
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == a["sha256"]
    assert not list(srv.data_dir.rglob("*.tmp-*"))


def test_a_full_disk_fails_the_job_with_a_clear_error_and_no_partial_file(make_server):
    srv = make_server(file_size_limit=1_500_000).start()
    with srv.client() as c:
        ds = _digits(c)
        model = wait_for(c, c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                                     "params": TINY}).json()["id"])["model_id"]
        big = c.post("/v1/jobs", json={"kind": "generate", "model_id": model, "params": {
            "sampling_strategy": {"0": 20000}, "output": "zip"}}).json()
        failed = wait_for(c, big["id"])
        assert failed["status"] == "failed", failed
        assert failed["error"]["code"] == "storage_full"
        assert "free space" in failed["error"]["message"]
        assert c.get(f"/v1/jobs/{big['id']}/artifacts").json() == []
        assert not list((srv.data_dir / "jobs" / big["id"]).rglob("samples*"))
        small = wait_for(c, c.post("/v1/jobs", json={"kind": "generate", "model_id": model,
                                                     "params": {"sampling_strategy": {"0": 5}}}
                                   ).json()["id"])
        assert small["status"] == "succeeded"  # the service carries on
        _check_artifacts(srv, c, small)


# Seeds whose draws kill the service at epochs 2 and 9 and the job process at 3 and 9.
@pytest.mark.parametrize("seed", [1, 4, 5, 6])
def test_random_kills_end_every_job_once_with_whole_artifacts(make_server, tmp_path, seed):
    rng = random.Random(seed)
    data = tmp_path / "store"
    srv = make_server(data).start()
    with srv.client() as c:
        ds = _digits(c)
        train = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds, "params": {
            "epochs": 12, "dim_h": 8, "n_z": 8, "batch_size": 32}}).json()
        epoch = rng.randint(0, 10)  # kill when training reached this epoch
        what = rng.choice(["service", "job process"])
        wait_for(c, train["id"], until=lambda j: j["status"] != "queued" and (
            (j["progress"].get("epoch") or 0) >= epoch or j["status"] != "running"))
    if what == "service":
        srv.kill()
        srv = make_server(data).start()
    else:
        for pid in children(srv.process.pid):
            os.kill(pid, signal.SIGKILL)
    with srv.client() as c:
        done = wait_for(c, train["id"])
        assert done["status"] == "succeeded", (seed, what, epoch, done)
        assert 1 <= done["attempts"] <= done["max_attempts"]
        assert [m["job_id"] for m in c.get("/v1/models").json()] == [train["id"]]
        _check_artifacts(srv, c, done)
        gen = wait_for(c, c.post("/v1/jobs", json={"kind": "generate",
                                                   "model_id": done["model_id"]}).json()["id"])
        assert gen["status"] == "succeeded"
        _check_artifacts(srv, c, gen)
        statuses = [j["status"] for j in c.get("/v1/jobs").json()]
        assert statuses == ["succeeded", "succeeded"]
