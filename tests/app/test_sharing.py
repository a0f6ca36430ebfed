"""Several jobs on one device: at once, each cancellable and resumed exactly once, admitted
by their estimated memory, and started in turns across tenants.

The real service (uvicorn on a loopback port, SQLite, its own job processes), on the CPU.
"""

from __future__ import annotations

import time

import pytest

from app.db.session import make_engine, session_factory
from app.db.store import JobStore

from .server import children, wait_for

#: Long enough for two jobs to be seen running at once on a busy machine.
SLOW = {"epochs": 400, "dim_h": 4, "n_z": 4}


def _imbalanced(c) -> str:
    return next(d["id"] for d in c.get("/v1/datasets").json()
                if d["name"] == "digits-imbalanced")


def _train(c, ds, **params):
    r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds, "params": params})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _running(c, job_ids) -> bool:
    return all(c.get(f"/v1/jobs/{j}").json()["status"] == "running" for j in job_ids)


def _wait_until(predicate, timeout=240.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_two_jobs_run_at_once_and_each_ends_exactly_once(make_server):
    srv = make_server(jobs_per_device="2", torch_threads="0").start()
    with srv.client() as c:
        ds = _imbalanced(c)
        first, second = _train(c, ds, **SLOW, random_state=1), _train(c, ds, **SLOW,
                                                                        random_state=2)
        _wait_until(lambda: _running(c, [first, second]))
        assert len(children(srv.process.pid)) >= 2      # a process each
        # cancel one: it ends cancelled and never runs again; the other goes on
        assert c.post(f"/v1/jobs/{first}/cancel").status_code == 200
        cancelled = wait_for(c, first)
        assert cancelled["status"] == "cancelled" and cancelled["attempts"] == 1
        # kill the service under the other, past its first checkpoints: a new one resumes
        # it, and it ends once
        wait_for(c, second, until=lambda j: (j["progress"].get("epoch") or 0) >= 3)
        srv.kill()
    srv = make_server(srv.data_dir, jobs_per_device="2").start()
    with srv.client() as c:
        done = wait_for(c, second, timeout=600)
        assert done["status"] == "succeeded" and done["attempts"] == 2
        assert done["result"]["resumed_from_epoch"] > 0
        models = c.get("/v1/models").json()
        assert [m["job_id"] for m in models] == [second]        # one model, of the one job
        assert c.get(f"/v1/jobs/{first}").json()["status"] == "cancelled"


def test_a_job_that_cannot_fit_the_device_is_refused_and_one_that_must_wait_says_why(
        make_server):
    # digits-imbalanced at dim_h 64 is estimated at about 38 MiB; two do not fit in 64
    srv = make_server(jobs_per_device="2", device_memory_mib="64",
                      job_memory_overhead_mib="0").start()
    with srv.client() as c:
        ds = _imbalanced(c)
        huge = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                        "params": {"dim_h": 256, "epochs": 1}})
        assert huge.status_code == 422
        error = huge.json()["error"]
        assert error["code"] == "too_large_for_device"
        assert "device allows 64 MiB" in error["message"] and "lower batch_size" in error[
            "message"]
        first = _train(c, ds, epochs=60, dim_h=64, n_z=4, random_state=1)
        _wait_until(lambda: _running(c, [first]))
        second = _train(c, ds, epochs=1, dim_h=64, n_z=4, random_state=2)
        waiting = wait_for(c, second, until=lambda j: "memory" in (j["progress"].get("note")
                                                                    or ""))
        assert waiting["status"] == "queued"
        assert waiting["progress"]["note"].startswith("waiting for device memory: needs about")
        assert wait_for(c, first, timeout=600)["status"] == "succeeded"
        done = wait_for(c, second, timeout=600)
        assert done["status"] == "succeeded"
        assert done["started_at"] >= c.get(f"/v1/jobs/{first}").json()["finished_at"]


@pytest.fixture
def store(tmp_path):
    from app.db.migrate import ensure_schema

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ensure_schema(engine)
    yield JobStore(engine, session_factory(engine))
    engine.dispose()


def test_tenants_take_turns_and_each_keeps_its_own_order(store):
    submitted = {}
    for name, tenant in (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("b2", "b")):
        submitted[store.submit(tenant=tenant, kind="train", params={}, max_attempts=1).id] = name
        time.sleep(0.01)
    order = []
    while (job := store.claim("node", 30)) is not None:
        order.append(submitted[job.id])
        store.finish(job.id, "node", "succeeded", result={})
        time.sleep(0.01)
    assert order == ["a1", "b1", "a2", "b2", "a3"]


def test_a_tenant_with_a_job_running_waits_behind_one_without(store):
    burst = [store.submit(tenant="a", kind="train", params={}, max_attempts=1).id
             for _ in range(3)]
    first = store.claim("node", 30)
    assert first.id == burst[0]
    late = store.submit(tenant="b", kind="train", params={}, max_attempts=1)
    assert store.claim("node", 30).id == late.id     # b has nothing running, a has a job
    assert store.claim("node", 30).id == burst[1]
