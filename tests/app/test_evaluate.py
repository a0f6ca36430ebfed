"""Evaluating a user's own data over HTTP: tiny classes run, what cannot run is refused at
submit time, and the answer says what it is.

The real service (uvicorn on a loopback port, SQLite, its own job processes).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from .server import LiveServer, wait_for

#: The imbalanced letters a user tried: 500 images of the largest class down to 6.
LETTERS = [500, 250, 120, 80, 50, 30, 20, 12, 8, 6]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("evaluate")).start()
    yield srv
    srv.stop()


def _upload(client, counts: list[int], name: str) -> dict:
    """10 classes of 8x8 images, each a class-specific stroke pattern with noise."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for c, n in enumerate(counts):
        base = np.zeros((8, 8))
        base[c % 8, :] = 200
        base[:, (3 * c) % 8] = 200
        images.append(np.clip(base + rng.normal(0, 30, (n, 8, 8)), 0, 255).astype(np.uint8))
        labels.append(np.full(n, c))
    buf = io.BytesIO()
    np.savez(buf, images=np.concatenate(images), labels=np.concatenate(labels),
             classes=np.array(list("ABCDEFGHIJ"[:len(counts)])))
    r = client.post("/v1/datasets", files={"file": (f"{name}.npz", buf.getvalue())},
                    data={"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def _evaluate(client, dataset_id: str, **params):
    return client.post("/v1/jobs", json={"kind": "evaluate", "dataset_id": dataset_id,
                                         "params": {"profile": "smoke", "augment": "on",
                                                    **params}})


def test_classes_of_500_down_to_6_evaluate_end_to_end(server):
    with server.client() as c:
        ds = _upload(c, LETTERS, "letters")
        r = _evaluate(c, ds["id"], folds=2, methods=["none", "ros", "recommended"])
        assert r.status_code == 202, r.text
        job = wait_for(c, r.json()["id"])
        assert job["status"] == "succeeded", job
        report = json.loads(c.get(f"/v1/jobs/{job['id']}/artifacts/report.json").content)
        text = c.get(f"/v1/jobs/{job['id']}/artifacts/report.md").text
    assert report["config"]["imbalance"] == "dataset"
    # the test side is as imbalanced as the data: the smallest classes keep all their images
    assert report["pool_counts"][-3:] == [10, 8, 6] and report["folds_used"] == 2
    assert sum(report["pool_counts"]) < sum(LETTERS)     # the profile caps the pool...
    # ...but the images left outside miss the classes kept whole, so they are no test set
    assert {r["split"] for r in report["runs"]} == {"fold"} and report["rest_per_class"] is None
    pooled = next(r["pooled"] for r in report["summary"] if r["method"] == "none")
    assert pooled["test_images_per_class"] == report["pool_counts"]
    # smoke: a wiring check, said so, with no verdict
    assert job["result"]["wiring_check"] and job["result"]["answers"] == []
    assert "**Wiring check, not a result.**" in text and "Verdict" not in text


def test_a_class_of_two_evaluates_without_the_methods_that_need_three(server):
    with server.client() as c:
        ds = _upload(c, [40, 20, 10, 2], "pairs")
        assert ds["warnings"] == [
            "class 'D' has 2 images: too few to evaluate smote and the paper recipes, which "
            "need 3 (two to interpolate between, one to test)"]
        jobs_before = c.get("/v1/jobs").json()
        r = _evaluate(c, ds["id"])      # the default methods include the paper recipes
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "dataset_too_small"
        assert error["message"].startswith(
            "class 'D' has 2 images; deepclsmote-paper, deepsmote-paper make a class's new "
            "images from two of its own training images")
        assert "need 3 of every class: leave them out of methods" in error["message"]
        assert c.get("/v1/jobs").json() == jobs_before      # refused before queueing
        r = _evaluate(c, ds["id"], methods=["none", "ros", "recommended"], folds=5)
        assert r.status_code == 202, r.text
        job = wait_for(c, r.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"]["seconds_left"] == 0


def test_what_cannot_be_evaluated_gets_its_422_at_submit(server):
    with server.client() as c:
        ds = _upload(c, [40, 20, 1], "lonely")
        assert any(w.startswith("class 'C' has 1 image: too few to evaluate")
                   for w in ds["warnings"])
        jobs_before = c.get("/v1/jobs").json()
        r = _evaluate(c, ds["id"], methods=["none", "ros"])
        assert r.status_code == 422
        assert r.json()["error"]["message"].startswith(
            "class 'C' has 1 image; evaluating needs at least 2 of every class")
        r = _evaluate(c, ds["id"], methods=["none", "ros"], imbalance="paper")
        assert r.status_code == 422 and "use imbalance 'dataset'" in r.json()["error"]["message"]
        r = _evaluate(c, ds["id"], methods=["none", "ros"], test_per_class=3)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_params"
        assert c.get("/v1/jobs").json() == jobs_before


def test_the_imbalanced_digits_are_built_in_and_a_train_job_reports_its_time_left(server):
    with server.client() as c:
        ds = next(d for d in c.get("/v1/datasets").json() if d["name"] == "digits-imbalanced")
        assert ds["builtin"] and [k["count"] for k in ds["classes"]] == [
            150, 100, 70, 50, 35, 25, 18, 12, 9, 6]
        r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"], "params": {
            "epochs": 3, "dim_h": 4, "n_z": 4}})
        job = wait_for(c, r.json()["id"], until=lambda j: (j["progress"].get("epoch") or 0) >= 1
                       or j["status"] in ("succeeded", "failed"))
        assert job["progress"]["seconds_left"] is not None
        job = wait_for(c, job["id"])
    assert job["status"] == "succeeded" and job["progress"]["seconds_left"] == 0
