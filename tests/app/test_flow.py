"""The whole flow over HTTP against the real service: digits and MNIST from ../shared/data.

Every test here runs twice: on the embedded default (SQLite, the service's own
job processes) and scaled out (PostgreSQL, Redis and two Celery workers).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from ..conftest import SHARED_DATA, missing_data
from .conftest import pg_database, redis_database
from .server import Cluster, LiveServer, wait_for

TINY = {"epochs": 2, "dim_h": 4, "n_z": 4, "batch_size": 64}


@pytest.fixture(scope="module", params=["embedded", "scaleout"])
def server(request, tmp_path_factory):
    if request.param == "embedded":
        srv = LiveServer(tmp_path_factory.mktemp("service")).start()
        yield srv
        srv.stop()
        return
    with pg_database() as url, redis_database() as broker:
        cluster = Cluster(tmp_path_factory.mktemp("cluster"), url, broker).start(2)
        yield cluster.api
        cluster.stop()


def _digits(client) -> dict:
    return next(d for d in client.get("/v1/datasets").json() if d["name"] == "digits")


def _download(client, job_id: str, name: str) -> bytes:
    r = client.get(f"/v1/jobs/{job_id}/artifacts/{name}")
    assert r.status_code == 200, r.text
    assert r.headers["x-checksum-sha256"] == hashlib.sha256(r.content).hexdigest()
    assert int(r.headers["content-length"]) == len(r.content)
    return r.content


def test_digits_is_there_from_the_first_start(server):
    with server.client() as c:
        ds = _digits(c)
    assert ds["builtin"] and ds["n_images"] == 1797 and ds["image_shape"] == [8, 8]
    assert [k["name"] for k in ds["classes"]] == [str(d) for d in range(10)]
    assert ds["imbalance_ratio"] == pytest.approx(183 / 174)
    with server.client() as c:
        r = c.delete(f"/v1/datasets/{ds['id']}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "builtin_dataset"
        assert c.get(f"/v1/datasets/{ds['id']}").status_code == 200


def test_train_generate_sample_and_reuse_on_digits(server):
    with server.client() as c:
        ds = _digits(c)
        r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"], "params": TINY})
        assert r.status_code == 202, r.text
        assert r.headers["location"] == f"/v1/jobs/{r.json()['id']}"
        job = wait_for(c, r.json()["id"])
        assert job["status"] == "succeeded", job
        assert job["progress"]["epoch"] == 2 and set(job["progress"]["losses"]) >= {"recon"}
        model_id = job["result"]["model_id"]
        assert job["model_id"] == model_id
        model = c.get(f"/v1/models/{model_id}").json()
        assert model["dataset_id"] == ds["id"] and model["params"]["epochs"] == 2
        # no recipe named: the recommended one, and the model keeps what it resolved to
        assert job["params"] == {"recipe": "recommended", **TINY, "random_state": 0}
        assert model["recipe"] == job["result"]["recipe"] == "recommended"
        recipes = c.get("/v1/recipes").json()
        assert [r["name"] for r in recipes][0] == "recommended" and recipes[0]["default"]
        assert model["params"] == {**recipes[0]["params"], **TINY, "random_state": 0}
        assert (model["params"]["decoding"], model["params"]["interpolation"]) == (
            "residual", "transfer")
        schema = c.get("/openapi.json").json()["components"]["schemas"]["TrainParams"]
        assert schema["properties"]["recipe"]["default"] == "recommended"
        assert all(f"`{r['name']}`: {r['description']}" in schema["properties"]["recipe"][
            "description"] for r in recipes)

        # the same data, parameters, seed and library: the model comes back at once
        again = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                         "params": TINY}).json()
        assert again["status"] == "succeeded" and again["result"] == {
            "model_id": model_id, "reused": True, "artifacts": []}
        other_seed = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                              "params": {**TINY, "random_state": 1}}).json()
        assert other_seed["status"] == "queued"
        c.post(f"/v1/jobs/{other_seed['id']}/cancel")

        # generate the balanced union as .npz, with a preview grid
        counts = {"3": 25, "7": 5}
        r = c.post("/v1/jobs", json={"kind": "generate", "model_id": model_id, "params": {
            "sampling_strategy": counts, "random_state": 3, "content": "balanced"}})
        assert r.status_code == 202, r.text
        gen = wait_for(c, r.json()["id"])
        assert gen["status"] == "succeeded", gen
        assert gen["result"]["counts"] == {"3": 25, "7": 5}
        names = {a["name"] for a in c.get(f"/v1/jobs/{gen['id']}/artifacts").json()}
        assert names == {"samples.npz", "preview.png", "quality.json", "quality_preview.png"}
        quality = json.loads(_download(c, gen["id"], "quality.json"))
        assert {r["class"]: r["n_synthetic"] for r in quality["classes"]
                if r["n_synthetic"]} == {"3": 25, "7": 5}
        assert gen["result"]["quality"]["n_synthetic"] == 30
        assert gen["result"]["quality"]["summary"] == quality["summary"]
        with np.load(io.BytesIO(_download(c, gen["id"], "samples.npz"))) as npz:
            images, labels = npz["images"], npz["labels"]
        assert images.shape == (1797 + 30, 8, 8) and images.dtype == np.uint8
        assert (labels == "3").sum() == 183 + 25 and (labels == "7").sum() == 179 + 5
        assert _download(c, gen["id"], "preview.png")[:8] == b"\x89PNG\r\n\x1a\n"

        # synchronous samples, repeatable with a seed
        body = {"sampling_strategy": {"0": 3, "9": 2}, "random_state": 7}
        first = c.post(f"/v1/models/{model_id}/samples", json=body)
        second = c.post(f"/v1/models/{model_id}/samples", json=body)
        assert first.status_code == 200, first.text
        with np.load(io.BytesIO(first.content)) as a, np.load(io.BytesIO(second.content)) as b:
            assert a["images"].shape == (5, 8, 8)
            assert sorted(a["labels"].tolist()) == ["0", "0", "0", "9", "9"]
            assert np.array_equal(a["images"], b["images"])
        unknown = c.post("/v1/jobs", json={"kind": "generate", "model_id": model_id,
                                           "params": {"sampling_strategy": {"cat": 3}}})
        assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_class"
        assert "'cat'" in unknown.json()["error"]["message"]
        too_many = c.post(f"/v1/models/{model_id}/samples",
                          json={"sampling_strategy": {"0": 100_000}})
        assert too_many.status_code == 422 and "at most" in too_many.json()["error"]["message"]

        # a model in use cannot go; an unused one can, and is gone
        listed = c.get("/v1/jobs", params={"kind": "generate", "status": "succeeded"}).json()
        assert [j["id"] for j in listed] == [gen["id"]]


def _events(client, job_id: str) -> list[tuple[str, dict, int]]:
    """The job's Server-Sent Events: (event, data, bytes of data) until the stream ends."""
    out, event = [], None
    with client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=240) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = line.split(":", 1)[1].strip()
                out.append((event, json.loads(data), len(data)))
    return out


def test_events_send_the_history_so_far_then_deltas_then_the_finished_job(server):
    """A stream opened late starts with the loss of every epoch done; then each event
    carries only what changed, and the last one the whole finished job."""
    with server.client() as c:
        ds = _digits(c)
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"], "params": {
            **TINY, "epochs": 12, "batch_size": 32, "random_state": 5}}).json()
        wait_for(c, job["id"], until=lambda j: (j["progress"].get("epoch") or 0) >= 3)
        events = _events(c, job["id"])
        history = json.loads(_download(c, job["id"], "history.json"))
    kinds = [e for e, _, _ in events]
    assert kinds[0] == "snapshot" and kinds[-1] == "end" and kinds.count("end") == 1
    assert set(kinds[1:-1]) <= {"progress"}
    snapshot, end = events[0][1], events[-1][1]
    done = snapshot["progress"]["epoch"]
    assert done >= 3 and snapshot["params"]["epochs"] == 12
    assert [h["epoch"] for h in snapshot["history"]] == list(range(1, done + 1))
    # every later event is a delta: the status and what changed, a fraction of the job
    for _, delta, size in events[1:-1]:
        assert "params" not in delta and "created_at" not in delta and size < 700, delta
        assert delta["status"] == "running"
    seen = {h["epoch"]: h["losses"] for _, data, _ in events[:-1] for h in data.get(
        "history", [])}
    assert sorted(seen) == list(range(1, 13))      # no epoch missed, however fast they came
    assert [seen[e] for e in range(1, 13)] == history
    assert end["status"] == "succeeded" and end["result"]["model_id"] == end["model_id"]
    assert events[-1][2] > max(size for _, _, size in events[1:-1])


def test_evaluate_job_writes_the_report(server):
    with server.client() as c:
        ds = _digits(c)
        r = c.post("/v1/jobs", json={"kind": "evaluate", "dataset_id": ds["id"], "params": {
            "methods": ["none", "ros"], "folds": 2, "profile": "smoke", "imbalance": "paper",
            "test_per_class": 12, "lr_schedule": "cosine"}})
        assert r.status_code == 202, r.text
        job = wait_for(c, r.json()["id"])
        assert job["status"] == "succeeded", job
        names = {a["name"] for a in c.get(f"/v1/jobs/{job['id']}/artifacts").json()}
        assert {"report.json", "report.md", "recall_per_class.png"} <= names
        report = json.loads(_download(c, job["id"], "report.json"))
        assert report["runs"] and "acsa" in report["runs"][0]
        assert report["test_per_class"] == 12
        assert report["config"]["lr_schedule"] == "cosine"
        assert report["config"]["imbalance"] == "paper"
        assert {r["method"] for r in job["result"]["summary"]} == {"none", "ros"}
        # a smoke run is a wiring check: no answers, no findings, and it says so
        assert job["result"]["wiring_check"] is True
        assert job["result"]["answers"] == [] and job["result"]["findings"] == []
        assert job["progress"]["seconds_left"] == 0


def test_evaluate_job_leaves_out_a_class_without_images(server):
    from deepclsmote.datasets import load_digits_images

    X, y = load_digits_images()
    keep = np.isin(y, [0, 1, 3])    # labels 0, 1 and 3: class "2" is named, and empty
    buf = io.BytesIO()
    np.savez(buf, images=X[keep][:150], labels=y[keep][:150])
    with server.client() as c:
        r = c.post("/v1/datasets", files={"file": ("gap.npz", buf.getvalue())})
        assert r.status_code == 201, r.text
        assert [k["count"] for k in r.json()["classes"]][2] == 0
        r = c.post("/v1/jobs", json={"kind": "evaluate", "dataset_id": r.json()["id"],
                                     "params": {"methods": ["ros"], "folds": 2,
                                                "profile": "smoke", "augment": "on"}})
        assert r.status_code == 202, r.text
        job = wait_for(c, r.json()["id"])
        assert job["status"] == "succeeded", job
        report = json.loads(_download(c, job["id"], "report.json"))
        assert report["dataset"]["classes"] == ["0", "1", "3"]
        assert report["dataset"]["classes_without_images"] == ["2"]


def _mnist_zip(counts: dict[int, int]) -> bytes:
    from deepclsmote.datasets import load_idx_pair

    root = SHARED_DATA / "mnist"
    X, y = load_idx_pair(root / "t10k-images-idx3-ubyte.gz", root / "t10k-labels-idx1-ubyte.gz")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for digit, n in counts.items():
            for i, idx in enumerate(np.flatnonzero(y == digit)[:n]):
                png = io.BytesIO()
                Image.fromarray(X[idx]).save(png, format="PNG")
                zf.writestr(f"mnist/digit{digit}/{i:04d}.png", png.getvalue())
    return buf.getvalue()


def test_mnist_zip_upload_train_generate_as_png_zip(server):
    if not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
        missing_data(f"MNIST is not in {SHARED_DATA}")
    blob = _mnist_zip({0: 60, 1: 20, 7: 10})
    with server.client() as c:
        r = c.post("/v1/datasets", files={"file": ("mnist3.zip", blob, "application/zip")},
                   data={"name": "mnist-3"})
        assert r.status_code == 201, r.text
        ds = r.json()
        assert r.headers["location"] == f"/v1/datasets/{ds['id']}"
        assert ds["name"] == "mnist-3" and ds["image_shape"] == [28, 28]
        assert {k["name"]: k["count"] for k in ds["classes"]} == {"digit0": 60, "digit1": 20,
                                                                  "digit7": 10}
        assert ds["imbalance_ratio"] == 6.0 and ds["source_format"] == "zip"

        # the preview: a row per class of its first images, enlarged from 28x28
        r = c.get(f"/v1/datasets/{ds['id']}/preview", params={"per_class": 5})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        grid = Image.open(io.BytesIO(r.content))
        assert grid.size == (96 + 5 * (56 + 2) + 2, 3 * (56 + 2) + 2)
        assert c.get(f"/v1/datasets/{ds['id']}/preview").content != r.content  # 8 per class
        bad = c.get(f"/v1/datasets/{ds['id']}/preview", params={"per_class": 0})
        assert bad.status_code == 422 and "per_class" in bad.json()["error"]["message"]
        job = wait_for(c, c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                                   "params": TINY}).json()["id"])
        assert job["status"] == "succeeded", job
        gen = c.post("/v1/jobs", json={"kind": "generate", "dataset_id": ds["id"],
                                       "params": {"output": "zip"}}).json()
        gen = wait_for(c, gen["id"])
        assert gen["status"] == "succeeded", gen
        assert gen["model_id"] == job["result"]["model_id"]  # the dataset's latest model
        with zipfile.ZipFile(io.BytesIO(_download(c, gen["id"], "samples.zip"))) as zf:
            names = zf.namelist()
            img = Image.open(io.BytesIO(zf.read(names[0])))
        assert sum(n.startswith("digit1/") for n in names) == 40
        assert sum(n.startswith("digit7/") for n in names) == 50
        assert not any(n.startswith("digit0/") for n in names)
        assert img.size == (28, 28) and img.mode == "L"
        metrics = c.get("/metrics").text
        assert 'deepclsmote_jobs{kind="generate",status="succeeded"}' in metrics
        assert "deepclsmote_queue_depth" in metrics
        assert 'deepclsmote_job_duration_seconds_count{kind="train",status="succeeded"}' in metrics
        uploaded = next(line for line in metrics.splitlines()
                        if line.startswith("deepclsmote_upload_bytes_total"))
        assert float(uploaded.split()[1]) >= len(blob)
        # the dataset is in use by nothing now: it can be deleted, and is gone
        assert c.delete(f"/v1/datasets/{ds['id']}").status_code == 204
        assert c.get(f"/v1/datasets/{ds['id']}").status_code == 404
        assert c.get(f"/v1/datasets/{ds['id']}/preview").status_code == 404
    if isinstance(server, LiveServer):  # its previews went with it
        assert not list((server.data_dir / "datasets").glob(f"{ds['id']}*"))
