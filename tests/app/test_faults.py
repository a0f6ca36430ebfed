"""Faults at chosen and at random moments: full disk, killed job processes, killed service."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import time

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


def _crash(srv: LiveServer, what: str, make_server, data) -> LiveServer:
    """SIGKILL the service (and start a new one on the same data) or its job processes."""
    if what == "service":
        srv.kill()
        return make_server(data).start()
    for pid in children(srv.process.pid):
        os.kill(pid, signal.SIGKILL)
    return srv


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


@pytest.fixture
def small_disk(tmp_path):
    """A real 3 MB file system (tmpfs) to hold the service's data; needs the right to mount."""
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    if r.returncode != 0:  # not root, or no CAP_SYS_ADMIN: the RLIMIT_FSIZE test still runs
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def _free_but_the_journal(disk) -> int:
    """Free bytes on ``disk``, counting the SQLite journal's blocks as free."""
    journal = sum(p.stat().st_blocks * 512 for p in disk.rglob("*.db-wal"))
    return shutil.disk_usage(disk).free + journal


def test_a_really_full_device_fails_the_job_and_frees_its_space(make_server, small_disk):
    srv = make_server(small_disk / "data").start()
    with srv.client() as c:
        ds = _digits(c)
        model = wait_for(c, c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                                     "params": TINY}).json()["id"])["model_id"]
        # the model's first generate job trains its fidelity classifier and keeps it beside the
        # model: a file that stays, so the free space is read after it
        first = wait_for(c, c.post("/v1/jobs", json={"kind": "generate", "model_id": model,
                                                     "params": {"sampling_strategy": {"0": 5}}}
                                   ).json()["id"])
        assert first["status"] == "succeeded", first
        assert (srv.data_dir / "models" / model / "quality_classifier.pt").is_file()
        free_before = _free_but_the_journal(small_disk)
        big = c.post("/v1/jobs", json={"kind": "generate", "model_id": model, "params": {
            "sampling_strategy": {"0": 40000}, "output": "zip"}}).json()
        failed = wait_for(c, big["id"])
        assert failed["status"] == "failed", failed
        assert failed["error"]["code"] == "storage_full", failed
        assert c.get(f"/v1/jobs/{big['id']}/artifacts").json() == []
        assert not list((srv.data_dir / "jobs" / big["id"]).rglob("samples*"))
        # nothing left: SQLite's write-ahead journal grows with the job's progress writes (more
        # of them on a busy machine) and is reused after each checkpoint; it is not the job's
        assert _free_but_the_journal(small_disk) >= free_before - 64 * 1024
        small = wait_for(c, c.post("/v1/jobs", json={"kind": "generate", "model_id": model,
                                                     "params": {"sampling_strategy": {"0": 5}}}
                                   ).json()["id"])
        assert small["status"] == "succeeded", small
        _check_artifacts(srv, c, small)
    srv.stop()


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
    srv = _crash(srv, what, make_server, data)
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


# Each seed draws which job is hit, what is killed and when; these four cover the service
# and the job process killed in a generate job and in an evaluate job.
@pytest.mark.parametrize("seed", [3, 5, 7, 8])
def test_random_kills_of_generate_and_evaluate_jobs_end_each_once(make_server, tmp_path, seed):
    rng = random.Random(seed)
    data = tmp_path / "store"
    srv = make_server(data).start()
    with srv.client() as c:
        ds = _digits(c)
        model = wait_for(c, c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                                     "params": TINY}).json()["id"])["model_id"]
        gen = c.post("/v1/jobs", json={"kind": "generate", "model_id": model, "params": {
            "sampling_strategy": {"0": 3000, "5": 2000}, "output": "zip"}}).json()
        ev = c.post("/v1/jobs", json={"kind": "evaluate", "dataset_id": ds, "params": {
            "methods": ["none", "ros", "deepclsmote-paper"], "folds": 2,
            "profile": "smoke"}}).json()
        target = rng.choice([gen, ev])
        what = rng.choice(["service", "job process"])
        delay = rng.uniform(0.0, 2.0)  # seconds into the target's run
        wait_for(c, target["id"], statuses=("running", "succeeded", "failed", "cancelled"))
        time.sleep(delay)
        hit = c.get(f"/v1/jobs/{target['id']}").json()["status"] == "running"
    srv = _crash(srv, what, make_server, data)
    with srv.client() as c:
        for job in (gen, ev):
            done = wait_for(c, job["id"])
            context = (seed, target["kind"], what, round(delay, 2), hit, done)
            assert done["status"] == "succeeded", context
            assert 1 <= done["attempts"] <= done["max_attempts"], context
            _check_artifacts(srv, c, done)
        names = {a["name"] for a in c.get(f"/v1/jobs/{ev['id']}/artifacts").json()}
        assert {"report.json", "report.md"} <= names
        jobs = c.get("/v1/jobs").json()
        assert sorted(j["kind"] for j in jobs) == ["evaluate", "generate", "train"]
        assert all(j["status"] == "succeeded" for j in jobs)
    print(f"seed {seed}: killed the {what} {delay:.2f} s into the {target['kind']} job "
          f"({'while it ran' if hit else 'after it ended'}); attempts "
          f"{[j['attempts'] for j in sorted(jobs, key=lambda j: j['kind'])]}")
