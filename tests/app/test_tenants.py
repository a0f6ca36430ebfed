"""API keys and tenants: each key sees only its own datasets, models and jobs."""

from __future__ import annotations

import hashlib
import io
import time

import numpy as np
import pytest

from app.api.deps import tenant_of
from app.config import Settings, parse_api_keys

from .server import LiveServer, wait_for

ALICE, BOB = "alice-key-123", "bob-key-456"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    bob_hash = hashlib.sha256(BOB.encode()).hexdigest()
    srv = LiveServer(tmp_path_factory.mktemp("keys"),
                     api_keys=f"alice:{ALICE},bob:sha256:{bob_hash}").start()
    yield srv
    srv.stop()


def _npz() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buf, images=rng.integers(0, 256, (40, 8, 8), dtype=np.uint8),
             labels=np.repeat([0, 1], [30, 10]))
    return buf.getvalue()


def test_no_key_or_a_wrong_key_is_401(keyed):
    with keyed.client() as anonymous, keyed.client("nope") as wrong:
        for c in (anonymous, wrong):
            for method, path in (("GET", "/v1/datasets"), ("GET", "/v1/jobs"),
                                 ("GET", "/v1/models"), ("POST", "/v1/jobs")):
                r = c.request(method, path, json={})
                assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert anonymous.get("/v1/health").status_code == 200  # liveness needs no key


def test_every_resource_is_invisible_to_the_other_tenant(keyed):
    with keyed.client(ALICE) as alice, keyed.client(BOB) as bob:
        own = alice.post("/v1/datasets", files={"file": ("mine.npz", _npz())}).json()
        job = wait_for(alice, alice.post("/v1/jobs", json={
            "kind": "train", "dataset_id": own["id"],
            "params": {"epochs": 1, "dim_h": 4, "n_z": 4}}).json()["id"])
        assert job["status"] == "succeeded", job
        model_id = job["result"]["model_id"]

        # each tenant has its own built-in digits, and only its own uploads
        names_a = sorted(d["name"] for d in alice.get("/v1/datasets").json())
        names_b = sorted(d["name"] for d in bob.get("/v1/datasets").json())
        assert names_a == ["digits", "digits-imbalanced", "mine"]
        assert names_b == ["digits", "digits-imbalanced"]
        assert bob.get("/v1/jobs").json() == [] and bob.get("/v1/models").json() == []

        for method, path in (
            ("GET", f"/v1/datasets/{own['id']}"), ("DELETE", f"/v1/datasets/{own['id']}"),
            ("GET", f"/v1/datasets/{own['id']}/preview"),
            ("GET", f"/v1/jobs/{job['id']}"), ("POST", f"/v1/jobs/{job['id']}/cancel"),
            ("GET", f"/v1/jobs/{job['id']}/artifacts"),
            ("GET", f"/v1/jobs/{job['id']}/artifacts/history.json"),
            ("GET", f"/v1/jobs/{job['id']}/events"),
            ("GET", f"/v1/models/{model_id}"), ("DELETE", f"/v1/models/{model_id}"),
            ("POST", f"/v1/models/{model_id}/samples"),
        ):
            r = bob.request(method, path, json={} if method == "POST" else None)
            assert r.status_code == 404, (method, path, r.status_code)
        for body in ({"kind": "train", "dataset_id": own["id"]},
                     {"kind": "generate", "model_id": model_id},
                     {"kind": "evaluate", "dataset_id": own["id"]}):
            assert bob.post("/v1/jobs", json=body).status_code == 404

        # alice still has everything
        assert alice.get(f"/v1/models/{model_id}").status_code == 200
        assert alice.get(f"/v1/datasets/{own['id']}/preview").status_code == 200
        assert alice.get(f"/v1/jobs/{job['id']}/artifacts/history.json").status_code == 200


def test_keys_are_kept_as_hashes_and_bad_entries_are_named():
    settings = Settings(api_keys=f"alice:{ALICE}")
    assert ALICE not in repr(settings.key_hashes)
    assert tenant_of(ALICE, settings) == "alice" and tenant_of("x", settings) is None
    assert tenant_of(None, settings) is None
    assert tenant_of(None, Settings()) == "default"  # no keys: the service is open
    with pytest.raises(ValueError, match="entry 2 must read 'tenant:key'"):
        parse_api_keys("a:b, nocolon")
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_api_keys("a:sha256:abc")


def test_request_rate_is_limited_per_key_with_retry_after(make_server):
    srv = make_server(api_keys=f"alice:{ALICE},bob:{BOB}", rate_limit="2", rate_burst="5").start()
    with srv.client(ALICE) as alice, srv.client(BOB) as bob:
        answers = [alice.get("/v1/datasets") for _ in range(12)]
        codes = [r.status_code for r in answers]
        assert codes[:5] == [200] * 5 and 429 in codes
        limited = next(r for r in answers if r.status_code == 429)
        assert limited.json()["error"]["code"] == "rate_limited"
        retry = int(limited.headers["retry-after"])
        assert retry >= 1
        assert bob.get("/v1/datasets").status_code == 200  # another key has its own budget
        assert alice.get("/v1/health").status_code == 200  # liveness is never limited
        time.sleep(retry)
        assert alice.get("/v1/datasets").status_code == 200


def test_queued_jobs_per_key_are_capped(make_server):
    srv = make_server(api_keys=f"alice:{ALICE},bob:{BOB}", max_queued_jobs_per_tenant="2").start()
    slow = {"epochs": 2000, "dim_h": 4, "n_z": 4}
    with srv.client(ALICE) as alice, srv.client(BOB) as bob:
        ds = next(d["id"] for d in alice.get("/v1/datasets").json())
        jobs = [alice.post("/v1/jobs", json={"kind": "train", "dataset_id": ds,
                                             "params": {**slow, "random_state": i}})
                for i in range(3)]
        assert [r.status_code for r in jobs] == [202, 202, 429]
        assert jobs[2].json()["error"]["code"] == "too_many_jobs"
        assert "retry-after" in jobs[2].headers
        ds_b = next(d["id"] for d in bob.get("/v1/datasets").json())
        other = bob.post("/v1/jobs", json={"kind": "train", "dataset_id": ds_b, "params": slow})
        assert other.status_code == 202
        for r in (*jobs[:2], other):
            client = bob if r is other else alice
            client.post(f"/v1/jobs/{r.json()['id']}/cancel")
