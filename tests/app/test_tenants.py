"""API keys and tenants: each key sees only its own datasets, models and jobs."""

from __future__ import annotations

import hashlib
import io

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
        assert names_a == ["digits", "mine"] and names_b == ["digits"]
        assert bob.get("/v1/jobs").json() == [] and bob.get("/v1/models").json() == []

        for method, path in (
            ("GET", f"/v1/datasets/{own['id']}"), ("DELETE", f"/v1/datasets/{own['id']}"),
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
