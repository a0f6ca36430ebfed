"""Every generate job reports how good its images are, over HTTP; near-copies are kept,
flagged or dropped as asked, in generate jobs and in the synchronous samples.

The real service (uvicorn on a loopback port, SQLite, its own job processes).
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from .server import LiveServer, wait_for

TINY = {"epochs": 30, "dim_h": 4, "n_z": 8}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # the default device, "auto", as a user's service has it (the other tests name "cpu")
    srv = LiveServer(tmp_path_factory.mktemp("quality"), device="auto").start()
    with srv.client() as c:
        ds = next(d for d in c.get("/v1/datasets").json() if d["name"] == "digits-imbalanced")
        models = {}
        # transfer steps taken up to 10 times: some new images are near-copies, not all;
        # at the recommended 1.5 with this tiny network nearly all of them are
        for name, step in (("wide", 10), ("close", 1.5)):
            r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                         "params": {**TINY, "step_scale": step}})
            models[name] = wait_for(c, r.json()["id"])["result"]["model_id"]
    srv.models = models
    yield srv
    srv.stop()


def _generate(c, model_id, **params):
    r = c.post("/v1/jobs", json={"kind": "generate", "model_id": model_id, "params": {
        "sampling_strategy": {"0": 40}, "random_state": 5, **params}})
    assert r.status_code == 202, r.text
    return wait_for(c, r.json()["id"])


def _artifact(c, job, name) -> bytes:
    r = c.get(f"/v1/jobs/{job['id']}/artifacts/{name}")
    assert r.status_code == 200, r.text
    return r.content


def test_a_generate_job_reports_quality_and_flags_near_copies(service):
    with service.client() as c:
        job = _generate(c, service.models["wide"], near_copies="flag")
        assert job["status"] == "succeeded", job
        report = json.loads(_artifact(c, job, "quality.json"))
        with np.load(io.BytesIO(_artifact(c, job, "samples.npz"))) as npz:
            flags = npz["near_copy"]
        assert _artifact(c, job, "quality_preview.png")[:4] == b"\x89PNG"
    row = next(r for r in report["classes"] if r["class"] == "0")
    assert row["n_synthetic"] == 40 and 0 < row["near_copies"] < 40
    assert flags.shape == (40,) and int(flags.sum()) == row["near_copies"]
    summary = job["result"]["quality"]
    assert summary["near_copies"] == row["near_copies"] and summary["fidelity"] is not None
    assert summary["summary"].startswith(f"{row['near_copies']} of 40 synthetic images")
    assert report["rule"] == summary["rule"] and "1st percentile" in report["rule"]
    assert row["novelty_latent"]["synthetic"]["median"] > 0      # in the latent space too
    assert job["result"]["seconds"]["quality"] > 0


def test_the_fidelity_classifier_is_trained_once_per_model_and_loaded_after(service):
    model = service.models["close"]
    kept = service.data_dir / "models" / model / "quality_classifier.pt"
    with service.client() as c:
        first = _generate(c, model)
        assert first["status"] == "succeeded", first
        trained = kept.stat().st_mtime_ns
        second = _generate(c, model, random_state=6)
        assert second["status"] == "succeeded", second
    # the service's device is "auto": the kept classifier loads on it, never trained again
    assert kept.stat().st_mtime_ns == trained
    assert "retraining the fidelity classifier" not in service.log.read_text()
    assert second["result"]["quality"]["real_recall"] == first["result"]["quality"]["real_recall"]


def test_drop_removes_the_near_copies_it_flags(service):
    with service.client() as c:
        job = _generate(c, service.models["wide"], near_copies="drop")
        assert job["status"] == "succeeded", job
        report = json.loads(_artifact(c, job, "quality.json"))
        zipped = _generate(c, service.models["wide"], near_copies="flag", output="zip")
        with zipfile.ZipFile(io.BytesIO(_artifact(c, zipped, "samples.zip"))) as zf:
            listed = zf.read("near_copies.txt").decode().split()
    assert job["result"]["counts"] == {"0": 40}
    assert report["overall"]["near_copies"] == 0
    assert len(listed) == zipped["result"]["quality"]["near_copies"] > 0
    assert all(name.startswith("0/") for name in listed)


def test_drop_fails_plainly_when_near_copies_cannot_be_avoided(service):
    with service.client() as c:
        job = _generate(c, service.models["close"], near_copies="drop")
    assert job["status"] == "failed" and job["error"]["code"] == "near_copies"
    assert "near_copies 'flag'" in job["error"]["message"]


def test_synchronous_samples_flag_and_drop_near_copies(service):
    with service.client() as c:
        url = f"/v1/models/{service.models['wide']}/samples"
        body = {"sampling_strategy": {"0": 20}, "random_state": 2}
        flagged = c.post(url, json={**body, "near_copies": "flag"})
        dropped = c.post(url, json={**body, "near_copies": "drop"})
        bad = c.post(url, json={**body, "near_copies": "sometimes"})
    assert flagged.status_code == dropped.status_code == 200
    with np.load(io.BytesIO(flagged.content)) as f, np.load(io.BytesIO(dropped.content)) as d:
        assert f["near_copy"].any() and len(d["images"]) == 20 and "near_copy" not in d.files
    assert bad.status_code == 422
