"""Job control over HTTP: cancel mid-training; kill the service mid-job, restart, resume once."""

from __future__ import annotations

import time
from pathlib import Path

from .server import children, wait_for

SLOW = {"epochs": 2000, "dim_h": 8, "n_z": 8, "batch_size": 32}


def _digits_id(client) -> str:
    return next(d["id"] for d in client.get("/v1/datasets").json() if d["name"] == "digits")


def test_cancel_stops_a_running_job_and_its_process(make_server):
    srv = make_server().start()
    with srv.client() as c:
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": _digits_id(c),
                                       "params": SLOW}).json()
        wait_for(c, job["id"], until=lambda j: (j["progress"].get("epoch") or 0) >= 1)
        assert children(srv.process.pid), "the job runs in a child process"
        t0 = time.monotonic()
        first = c.post(f"/v1/jobs/{job['id']}/cancel")
        assert first.status_code == 200 and first.json()["cancel_requested"]
        done = wait_for(c, job["id"], timeout=30)
        assert done["status"] == "cancelled" and time.monotonic() - t0 < 10
        assert c.post(f"/v1/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
        deadline = time.monotonic() + 5
        while children(srv.process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert children(srv.process.pid) == []
        assert c.get("/v1/models").json() == []  # a cancelled training leaves no model
        assert c.get(f"/v1/jobs/{job['id']}/artifacts").json() == []


def test_cancel_a_queued_job_never_runs_it(make_server):
    srv = make_server().start()
    with srv.client() as c:
        ds = _digits_id(c)
        running = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                           "params": SLOW}).json()
        queued = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                          "params": {**SLOW, "random_state": 1}}).json()
        r = c.post(f"/v1/jobs/{queued['id']}/cancel").json()
        assert r["status"] == "cancelled" and r["attempts"] == 0
        c.post(f"/v1/jobs/{running['id']}/cancel")
        assert wait_for(c, running["id"], timeout=60)["status"] == "cancelled"
        assert c.get(f"/v1/jobs/{queued['id']}").json()["attempts"] == 0


def test_killed_service_resumes_the_job_from_its_checkpoint_exactly_once(make_server, tmp_path):
    data = tmp_path / "store"
    srv = make_server(data).start()
    params = {"epochs": 40, "dim_h": 8, "n_z": 8, "batch_size": 32}
    with srv.client() as c:
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": _digits_id(c),
                                       "params": params}).json()
        wait_for(c, job["id"], until=lambda j: (j["progress"].get("epoch") or 0) >= 3)
    child = children(srv.process.pid)
    srv.kill()
    deadline = time.monotonic() + 10  # the job process dies with its parent
    while any(Path(f"/proc/{p}").exists() for p in child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{p}/cmdline").exists() for p in child)

    srv2 = make_server(data).start()
    with srv2.client() as c:
        done = wait_for(c, job["id"])
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 2
        assert done["result"]["resumed_from_epoch"] >= 3
        assert done["result"]["epochs_run"] == 40
        models = c.get("/v1/models").json()
        assert [m["job_id"] for m in models] == [job["id"]]  # one model, not two
        jobs = c.get("/v1/jobs").json()
        assert [j["id"] for j in jobs] == [job["id"]]
    assert not list(data.rglob("*.tmp-*"))


def test_a_job_whose_process_keeps_dying_fails_worker_lost(make_server, tmp_path):
    data = tmp_path / "store"
    srv = make_server(data, max_attempts="1").start()
    with srv.client() as c:
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": _digits_id(c),
                                       "params": SLOW}).json()
        wait_for(c, job["id"], until=lambda j: j["status"] == "running")
    srv.kill()
    srv2 = make_server(data, max_attempts="1").start()
    with srv2.client() as c:
        done = c.get(f"/v1/jobs/{job['id']}").json()
        assert done["status"] == "failed" and done["error"]["code"] == "worker_lost"
        assert "submit it again" in done["error"]["message"]


def test_jobs_run_one_at_a_time_in_submission_order(make_server):
    srv = make_server().start()
    with srv.client() as c:
        ds = _digits_id(c)
        ids = [c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds, "params": {
            "epochs": 1, "dim_h": 4, "n_z": 4, "random_state": i}}).json()["id"]
            for i in range(3)]
        done = [wait_for(c, i) for i in ids]
    assert [d["status"] for d in done] == ["succeeded"] * 3
    for a, b in zip(done, done[1:], strict=False):
        assert a["started_at"] < b["started_at"] and a["finished_at"] <= b["started_at"]


def test_start_removes_what_interrupted_writes_left(make_server, tmp_path):
    data = tmp_path / "store"
    artifacts = data / "jobs" / ("a" * 32) / "artifacts"
    artifacts.mkdir(parents=True)
    partial = artifacts / "samples.npz.tmp-1234abcd"
    partial.write_bytes(b"half an archive")
    (data / "uploads").mkdir()
    upload = data / "uploads" / "0123.zip"
    upload.write_bytes(b"half an upload")
    make_server(data).start()
    assert not partial.exists() and not upload.exists()


def test_fifty_concurrent_writers_get_no_error_from_sqlite(make_server):
    """SQLite takes one writer at a time: the others must wait, not fail."""
    import concurrent.futures as cf

    srv = make_server(max_queued_jobs_per_tenant="1000").start()
    with srv.client() as c:
        ds = _digits_id(c)

    def writer(i: int) -> list[int]:
        codes = []
        with srv.client() as c:
            for j in range(4):
                r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds, "params": {
                    "epochs": 2000, "dim_h": 4, "n_z": 4, "random_state": 100 * i + j}})
                codes.append(r.status_code)
                codes.append(c.post(f"/v1/jobs/{r.json()['id']}/cancel").status_code)
        return codes

    with cf.ThreadPoolExecutor(50) as pool:
        codes = [code for result in pool.map(writer, range(50)) for code in result]
    assert codes.count(202) == 200 and codes.count(200) == 200
    with srv.client() as c:
        jobs = c.get("/v1/jobs", params={"limit": 1000}).json()
        assert len(jobs) == 200
        assert {j["status"] for j in jobs} <= {"cancelled", "running"}
        for j in jobs:
            wait_for(c, j["id"], timeout=60)


def test_one_model_however_its_parameters_are_spelled():
    from app.jobs.service import resolve_train, train_fingerprint

    def fingerprint(recipe, overrides):
        estimator, params = resolve_train(recipe, overrides)
        return train_fingerprint(dataset_sha256="0" * 64, estimator=estimator, params=params,
                                 library="0.1.0")

    recommended = fingerprint("recommended", {"epochs": 3})
    spelled_out = fingerprint("deepclsmote-paper", {"epochs": 3, "decoding": "residual",
                                                    "interpolation": "transfer",
                                                    "step_scale": 1.5})
    assert recommended == spelled_out       # the same model is reused
    assert recommended != fingerprint("recommended", {"epochs": 3, "foreground_margin": 2})
    assert recommended != fingerprint("recommended", {"epochs": 3, "random_state": 1})
    # DeepSMOTE is DeepCLSMOTE without the class-latent weights, but not the same sampler
    assert fingerprint("deepsmote-paper", {}) != fingerprint(
        "deepclsmote-paper", {"w_compact": 0.0, "w_separation": 0.0})


def test_jobs_queued_before_recipes_train_the_method_they_named():
    from app.jobs.kinds import requested_recipe

    old = {"method": "deepsmote", "epochs": 2, "w_compact": 0.02, "w_separation": 0.02,
           "decoding": "direct", "random_state": 0}
    assert requested_recipe(old) == ("deepsmote-paper", {"epochs": 2, "decoding": "direct",
                                                         "random_state": 0})
    assert requested_recipe({"method": "deepclsmote", "epochs": 2})[0] == "deepclsmote-paper"
    assert requested_recipe({"recipe": "recommended", "epochs": 2}) == (
        "recommended", {"epochs": 2})


