"""The same service on Celery workers, PostgreSQL and Redis (the machine's real servers).

An API node (uvicorn) with DEEPCLSMOTE_DATABASE_URL and DEEPCLSMOTE_BROKER_URL
enqueues; worker processes (``deepclsmote worker``) run the jobs on the CPU.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from .server import Cluster, wait_for

TINY = {"epochs": 2, "dim_h": 4, "n_z": 4, "batch_size": 64}


@pytest.fixture
def cluster(tmp_path, postgres_url, redis_url):
    made: list[Cluster] = []

    def make(n_workers: int = 2) -> Cluster:
        made.append(Cluster(tmp_path, postgres_url, redis_url).start(n_workers))
        return made[-1]

    yield make
    for c in made:
        c.stop()


def test_rabbitmq_carries_the_jobs_as_redis_does(tmp_path, postgres_url, amqp_url):
    """DEEPCLSMOTE_BROKER_URL=amqp://...: the same jobs, through the machine's RabbitMQ."""
    c1 = Cluster(tmp_path, postgres_url, amqp_url).start(1)
    try:
        with c1.api.client() as c:
            assert c.get("/v1/ready").json()["ready"]
            train = wait_for(c, c.post("/v1/jobs", json={"kind": "train",
                                                         "dataset_id": _digits(c),
                                                         "params": TINY}).json()["id"])
            assert train["status"] == "succeeded", train
            assert train["result"]["runner"].startswith("w0@test")
            gen = wait_for(c, c.post("/v1/jobs", json={
                "kind": "generate", "model_id": train["model_id"],
                "params": {"sampling_strategy": {"3": 4}}}).json()["id"])
            assert gen["status"] == "succeeded" and gen["result"]["counts"] == {"3": 4}, gen
            assert [j["status"] for j in c.get("/v1/jobs").json()] == ["succeeded"] * 2
    finally:
        c1.stop()


def _digits(client) -> str:
    return next(d["id"] for d in client.get("/v1/datasets").json() if d["name"] == "digits")


def test_the_whole_flow_on_two_workers(cluster):
    c2 = cluster(2)
    with c2.api.client() as c:
        assert c.get("/v1/ready").json()["ready"]
        buf = io.BytesIO()
        rng = np.random.default_rng(0)
        np.savez(buf, images=rng.integers(0, 256, (50, 12, 12), dtype=np.uint8),
                 labels=np.repeat(["cat", "dog"], [40, 10]))
        ds = c.post("/v1/datasets", files={"file": ("pets.npz", buf.getvalue())}).json()
        train = wait_for(c, c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                                     "params": TINY}).json()["id"])
        assert train["status"] == "succeeded", train
        assert train["result"]["runner"].split(":")[0] in ("w0@test", "w1@test")
        gen = wait_for(c, c.post("/v1/jobs", json={"kind": "generate",
                                                   "model_id": train["model_id"]}).json()["id"])
        assert gen["status"] == "succeeded" and gen["result"]["counts"] == {"dog": 30}
        blob = c.get(f"/v1/jobs/{gen['id']}/artifacts/samples.npz").content
        with np.load(io.BytesIO(blob)) as npz:
            assert npz["images"].shape == (30, 12, 12)
        again = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                         "params": TINY}).json()
        assert again["result"]["reused"] and again["model_id"] == train["model_id"]


def test_worker_node_names_name_their_host_and_gpu(cluster):
    """Not a literal '%h': workers on two hosts, or two GPUs of one, have names of their own."""
    c0 = cluster(0)
    host = socket.gethostname()
    gpu3 = c0.add_worker("gpu3", ["--gpu", "3"])
    assert f"gpu3@{host} ready." in gpu3.log.read_text()
    named = c0.add_worker("named", ["--name", "east@%h"])  # a name given is expanded too
    assert f"east@{host} ready." in named.log.read_text()
    named.kill()
    with c0.api.client() as c:
        job = wait_for(c, c.post("/v1/jobs", json={"kind": "train", "dataset_id": _digits(c),
                                                   "params": TINY}).json()["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["runner"].split(":")[0] == f"gpu3@{host}"


def test_six_jobs_over_two_workers_run_exactly_once(cluster):
    c2 = cluster(2)
    with c2.api.client() as c:
        ds = _digits(c)
        t0 = time.monotonic()
        ids = [c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds, "params": {
            **TINY, "random_state": i}}).json()["id"] for i in range(6)]
        done = [wait_for(c, i, timeout=300) for i in ids]
        elapsed = time.monotonic() - t0
        models = c.get("/v1/models").json()
    assert [d["status"] for d in done] == ["succeeded"] * 6
    assert [d["attempts"] for d in done] == [1] * 6
    assert sorted(m["job_id"] for m in models) == sorted(ids)  # one model per job
    runners = {d["result"]["runner"].split(":")[0] for d in done}
    assert runners == {"w0@test", "w1@test"}  # both workers took jobs
    assert elapsed < 300
    artifacts = sorted(p.relative_to(c2.root) for p in c2.root.rglob("history.json"))
    assert len(artifacts) == 6 and not list(c2.root.rglob("*.tmp-*"))


def test_one_worker_runs_two_jobs_at_once_on_its_device(cluster):
    c1 = cluster(0)
    c1.add_worker("w0", jobs_per_device="2")
    with c1.api.client() as c:
        ids = [c.post("/v1/jobs", json={"kind": "train", "dataset_id": _digits(c), "params": {
            "epochs": 200, "dim_h": 4, "n_z": 4, "random_state": i}}).json()["id"]
               for i in range(2)]
        deadline = time.monotonic() + 240
        while len(c1.busy().get("w0", [])) < 2:
            assert time.monotonic() < deadline, "the worker never ran two jobs at once"
            time.sleep(0.2)
        done = [wait_for(c, i, timeout=300) for i in ids]
    assert [(d["status"], d["attempts"]) for d in done] == [("succeeded", 1)] * 2


def test_a_killed_worker_s_job_resumes_on_the_other_worker(cluster):
    c2 = cluster(2)
    with c2.api.client() as c:
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": _digits(c), "params": {
            "epochs": 30, "dim_h": 8, "n_z": 8, "batch_size": 32}}).json()
        wait_for(c, job["id"], until=lambda j: (j["progress"].get("epoch") or 0) >= 3)
        busy = c2.busy()
        assert len(busy) == 1
        (victim, kids), = busy.items()
        c2.workers[victim].kill()
        done = wait_for(c, job["id"], timeout=300)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2 and done["result"]["resumed_from_epoch"] >= 3
    assert done["result"]["runner"].split(":")[0] == next(
        f"{n}@test" for n in c2.workers if n != victim)
    assert not any(Path(f"/proc/{p}/cmdline").exists() for p in kids)


def test_cancel_a_job_running_on_a_worker(cluster):
    c1 = cluster(1)
    with c1.api.client() as c:
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": _digits(c), "params": {
            "epochs": 2000, "dim_h": 8, "n_z": 8}}).json()
        wait_for(c, job["id"], until=lambda j: (j["progress"].get("epoch") or 0) >= 1)
        assert c1.busy()
        t0 = time.monotonic()
        c.post(f"/v1/jobs/{job['id']}/cancel")
        done = wait_for(c, job["id"], timeout=30)
        assert done["status"] == "cancelled" and time.monotonic() - t0 < 10
    deadline = time.monotonic() + 5
    while c1.busy() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert c1.busy() == {}


def _restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
                   check=False, capture_output=True)
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port",
                    "6379", "--save", "", "--appendonly", "no"], check=True,
                   capture_output=True)
    for _ in range(50):
        ping = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"],
                              capture_output=True, text=True)
        if "PONG" in ping.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError("Redis did not come back")


@pytest.mark.skipif(not os.environ.get("CI") and not os.environ.get("DEEPCLSMOTE_RESTART_REDIS"),
                    reason="restarts the machine's Redis: runs in CI, or with "
                           "DEEPCLSMOTE_RESTART_REDIS=1")
def test_queued_jobs_survive_a_redis_restart(cluster):
    c1 = cluster(1)
    with c1.api.client() as c:
        ds = _digits(c)
        first = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds, "params": {
            "epochs": 15, "dim_h": 8, "n_z": 8, "batch_size": 32}}).json()
        wait_for(c, first["id"], until=lambda j: j["status"] == "running")
        queued = [c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds, "params": {
            **TINY, "random_state": i}}).json()["id"] for i in range(2)]
        _restart_redis()  # the two queued jobs' messages are gone with it
        done = [wait_for(c, i, timeout=300) for i in [first["id"], *queued]]
    assert [d["status"] for d in done] == ["succeeded"] * 3
    assert [d["attempts"] for d in done[1:]] == [1, 1]
    assert "enqueuing them again" in c1.api.log.read_text()  # the messages were lost, re-sent
