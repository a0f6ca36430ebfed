"""app.client against the real service (tiny models on digits), and its own logic on fakes.

The fakes (``httpx.MockTransport``) stand in for the service only where it
cannot be made to misbehave: a corrupted download and a broken event stream.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

import httpx
import numpy as np
import pytest

from app.client import ApiError, ChecksumMismatch, Client, parse_sse

TINY = {"epochs": 2, "dim_h": 4, "n_z": 4}


def three_classes(path, counts=(40, 15, 8)):
    """An .npz of 8x8 grey images, classes 0, 1, 2 with the given counts."""
    rng = np.random.default_rng(0)
    images = np.concatenate([np.clip(rng.normal(50 + 70 * c, 25, (n, 8, 8)), 0, 255)
                             for c, n in enumerate(counts)]).astype(np.uint8)
    labels = np.repeat(np.arange(len(counts)), counts)
    np.savez(path, images=images, labels=labels)
    return images, labels


@pytest.fixture(scope="module")
def api(server):
    with Client(server.url) as client:
        yield client


@pytest.fixture(scope="module")
def digits(api):
    return next(d for d in api.datasets() if d["name"] == "digits")


@pytest.fixture(scope="module")
def trained(api, digits):
    """A finished tiny train job on digits, and what ``wait`` reported on the way."""
    seen: list[dict] = []
    job = api.wait(api.train(digits["id"], **TINY)["id"], on_progress=seen.append,
                   timeout=240)
    return job, seen


def test_health_and_ready(api):
    assert api.health() == {"status": "ok"}
    ready = api.ready()
    assert ready["ready"] is True and ready["database"] == "ok"


def test_upload_read_list_and_delete_a_dataset(api, tmp_path):
    three_classes(tmp_path / "three.npz")
    manifest = api.upload_dataset(tmp_path / "three.npz", name="three")
    assert manifest["name"] == "three" and manifest["n_images"] == 63
    assert manifest["image_shape"] == [8, 8]
    assert [c["count"] for c in manifest["classes"]] == [40, 15, 8]
    assert manifest["duplicate"] is False and manifest["conversions"] == []
    assert api.dataset(manifest["id"]) == {k: v for k, v in manifest.items() if k != "duplicate"}
    assert manifest["id"] in {d["id"] for d in api.datasets()}
    api.delete_dataset(manifest["id"])
    with pytest.raises(ApiError) as info:
        api.dataset(manifest["id"])
    assert (info.value.status, info.value.code) == (404, "dataset_not_found")


def test_upload_options_and_duplicates(api, tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "rows.npz", X=rng.integers(0, 256, (6, 3 * 10 * 10), dtype=np.uint8),
             y=[0, 0, 0, 0, 1, 1])
    first = api.upload_dataset(tmp_path / "rows.npz", size=(16, 12), mode="L")
    assert first["image_shape"] == [16, 12] and not first["duplicate"]
    assert [c["kind"] for c in first["conversions"]] == ["layout", "resize", "mode"]
    again = api.upload_dataset(tmp_path / "rows.npz", size="16x12", mode="L", fit="stretch")
    assert again["duplicate"] and again["id"] == first["id"]
    with pytest.raises(ApiError) as info:
        api.upload_dataset(tmp_path / "rows.npz", header=True)
    assert (info.value.status, info.value.code) == (422, "option_not_applicable")


def test_error_answers_carry_status_code_and_message(api, digits):
    with pytest.raises(ApiError) as info:
        api.job("0" * 32)
    assert (info.value.status, info.value.code) == (404, "job_not_found")
    assert "0" * 32 in info.value.message
    with pytest.raises(ApiError) as info:
        api.train(digits["id"], epochs=0)
    assert (info.value.status, info.value.code) == (422, "invalid_request")
    assert "epochs" in info.value.message
    with pytest.raises(ApiError) as info:
        api.generate()  # neither a model nor a dataset
    assert info.value.status == 422


def test_train_waits_with_progress_until_it_succeeds(api, trained, digits):
    job, seen = trained
    assert job["status"] == "succeeded", job
    assert seen and all(j["status"] in ("queued", "running") for j in seen)
    assert all(j["params"] == seen[0]["params"] for j in seen)  # whole jobs, from the deltas
    assert any(j["progress"].get("stage") == "training" for j in seen)
    model_id = job["result"]["model_id"]
    assert api.model(model_id)["dataset_id"] == digits["id"]
    assert model_id in {m["id"] for m in api.models(dataset_id=digits["id"])}


def test_lists_name_the_datasets_and_models(api, trained):
    """Models have no name of their own: theirs is the dataset's name and the recipe."""
    job, _ = trained
    listed = next(j for j in api.jobs(kind="train") if j["id"] == job["id"])
    assert (listed["dataset_name"], listed["model_name"]) == ("digits", "digits · recommended")
    model = api.model(job["model_id"])
    assert (model["name"], model["dataset_name"]) == ("digits · recommended", "digits")
    assert next(m for m in api.models() if m["id"] == job["model_id"])["name"] == model["name"]
    assert api.job(job["id"])["model_name"] == "digits · recommended"


def test_events_of_an_ended_job_are_its_snapshot_with_the_history_then_end(api, trained):
    events = list(api.events(trained[0]["id"]))
    assert [e["event"] for e in events] == ["snapshot", "end"]
    assert [h["epoch"] for h in events[0]["history"]] == [1, 2]
    assert set(events[0]["history"][0]["losses"]) >= {"loss", "recon"}
    assert events[-1]["job"] == events[-1]["data"] and events[-1]["job"]["status"] == "succeeded"


def test_samples_are_arrays_of_the_asked_classes(api, trained):
    model_id = trained[0]["result"]["model_id"]
    images, labels = api.samples(model_id, {"3": 4, "7": 2}, random_state=5)
    assert images.shape == (6, 8, 8) and images.dtype == np.uint8
    assert sorted(labels.tolist()) == ["3"] * 4 + ["7"] * 2
    again, _ = api.samples(model_id, {"3": 4, "7": 2}, random_state=5)
    np.testing.assert_array_equal(images, again)
    with pytest.raises(ApiError) as info:
        api.samples(model_id, {"cat": 1})
    assert (info.value.status, info.value.code) == (422, "unknown_class")


def test_lists_page_with_limit_and_offset_and_give_the_total(server, trained):
    with server.client() as c:
        doc = c.get("/openapi.json").json()["paths"]
        for path in ("/v1/datasets", "/v1/jobs", "/v1/models"):
            whole = c.get(path, params={"limit": 1000})
            total = int(whole.headers["x-total-count"])
            assert total == len(whole.json()) >= 1
            page = c.get(path, params={"limit": 1, "offset": total - 1})
            assert page.json() == whole.json()[-1:]
            assert int(page.headers["x-total-count"]) == total
            assert "X-Total-Count" in doc[path]["get"]["responses"]["200"]["headers"]
        trains = c.get("/v1/jobs", params={"kind": "train", "limit": 1})
        assert int(trains.headers["x-total-count"]) == len(
            c.get("/v1/jobs", params={"kind": "train", "limit": 1000}).json())


def test_samples_draw_a_fresh_seed_unless_given_and_say_which(server, trained):
    url = f"/v1/models/{trained[0]['result']['model_id']}/samples"
    body = {"sampling_strategy": {"3": 4}}

    def images(r):
        assert r.status_code == 200, r.text
        with np.load(io.BytesIO(r.content)) as npz:
            return npz["images"]

    with server.client() as c:
        first, second = c.post(url, json=body), c.post(url, json=body)
        seed = first.headers["x-random-state"]
        assert seed != second.headers["x-random-state"]
        assert not np.array_equal(images(first), images(second))
        again = c.post(url, json={**body, "random_state": int(seed)})  # the seed repeats it
        assert again.headers["x-random-state"] == seed
        np.testing.assert_array_equal(images(again), images(first))
        doc = c.get("/openapi.json").json()["paths"]["/v1/models/{model_id}/samples"]["post"]
    assert "X-Random-State" in doc["responses"]["200"]["headers"]


def test_generate_and_download_with_checked_checksums(api, trained, tmp_path):
    model_id = trained[0]["result"]["model_id"]
    job = api.wait(api.generate(model_id, sampling_strategy={"1": 6}, random_state=0)["id"],
                   timeout=240)
    assert job["status"] == "succeeded", job
    listed = {a["name"]: a for a in api.artifacts(job["id"])}
    assert {"samples.npz", "preview.png"} <= set(listed)
    path = api.download(job["id"], "samples.npz", tmp_path)
    assert path == tmp_path / "samples.npz"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == listed["samples.npz"]["sha256"]
    with np.load(path) as data:
        assert data["labels"].tolist() == ["1"] * 6
    other = api.download(job["id"], "preview.png", tmp_path / "grid.png")
    assert other.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png", "samples.npz"]
    with pytest.raises(ApiError) as info:
        api.download(job["id"], "missing.npz", tmp_path)
    assert info.value.code == "artifact_not_found"
    # a trailing slash names a folder, made if it is not there (as in the README)
    into = api.download(job["id"], "samples.npz", f"{tmp_path}/out/new/")
    assert into == tmp_path / "out" / "new" / "samples.npz"
    assert into.read_bytes() == path.read_bytes()


def test_balanced_outputs_mark_the_synthetic_images(api, trained, digits, tmp_path):
    """.npz: an is_synthetic array; .zip: <class>/real-N.png and <class>/synthetic-N.png, an
    ImageFolder whose classes are the dataset's."""
    from deepclsmote.datasets import load_image_folder

    model_id = trained[0]["result"]["model_id"]
    n_real = digits["n_images"]
    for output in ("npz", "zip"):
        job = api.wait(api.generate(model_id, sampling_strategy={"3": 5, "7": 2},
                                    content="balanced", output=output)["id"], timeout=240)
        assert job["status"] == "succeeded", job
        api.download(job["id"], f"samples.{output}", tmp_path)
    with np.load(tmp_path / "samples.npz") as npz:
        flags, labels = npz["is_synthetic"], npz["labels"]
    assert flags.dtype == bool and flags.shape == labels.shape == (n_real + 7,)
    assert not flags[:n_real].any() and flags[n_real:].all()
    assert sorted(labels[flags].tolist()) == ["3"] * 5 + ["7"] * 2
    with zipfile.ZipFile(tmp_path / "samples.zip") as zf:
        names = zf.namelist()
    assert all(re.fullmatch(r"\d/(real|synthetic)-\d{6}\.png", n) for n in names), names[:5]
    assert sorted(n for n in names if "/synthetic-" in n) == [
        "3/synthetic-000001.png", "3/synthetic-000002.png", "3/synthetic-000003.png",
        "3/synthetic-000004.png", "3/synthetic-000005.png", "7/synthetic-000001.png",
        "7/synthetic-000002.png"]
    folder = load_image_folder(tmp_path / "samples.zip")
    assert folder.classes == [str(d) for d in range(10)]
    assert folder.counts().tolist() == [c["count"] + {"3": 5, "7": 2}.get(c["name"], 0)
                                        for c in digits["classes"]]


def test_a_failure_the_user_caused_is_one_line_in_the_server_log(api, server, tmp_path):
    three_classes(tmp_path / "two.npz", counts=(40, 10))
    ds = api.upload_dataset(tmp_path / "two.npz", name="two")
    trained = api.wait(api.train(ds["id"], **TINY)["id"], timeout=240)
    assert trained["status"] == "succeeded", trained
    start = server.log.stat().st_size
    # accepted (a float for two classes), refused by the library: class 1 is past 0.1 already
    job = api.wait(api.generate(trained["model_id"], sampling_strategy=0.1)["id"], timeout=240)
    assert job["status"] == "failed" and job["error"]["code"] == "invalid_params", job
    with open(server.log, "rb") as f:
        f.seek(start)
        log = f.read().decode(errors="replace")
    failed = [line for line in log.splitlines() if "failed" in line]
    assert len(failed) == 1 and job["id"][:8] in failed[0], log
    assert "invalid_params" in failed[0] and "ratio" in failed[0]
    assert "Traceback" not in log


def test_the_preview_writes_long_class_names_whole(api, server, tmp_path):
    """A name too long for its line is wrapped onto the next, never cut off."""
    from PIL import Image, ImageFont

    from app.previews import PAD

    names = ["Speed limit (120km/h)", "End of no passing by vehicles over 3.5 metric tons",
             "End of no passing by vehicles over 3.5 metric tons, except on the days the "
             "sign below names"]
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "signs.npz", images=rng.integers(0, 256, (12, 8, 8), dtype=np.uint8),
             labels=np.repeat(names, 4))
    ds = api.upload_dataset(tmp_path / "signs.npz")
    rows = [c["name"] for c in ds["classes"]]
    with server.client() as c:
        r = c.get(f"/v1/datasets/{ds['id']}/preview", params={"per_class": 2})
    grid = np.asarray(Image.open(io.BytesIO(r.content)).convert("L"))
    label_width = grid.shape[1] - 2 * (48 + PAD) - PAD  # 8x8 images: 48-pixel tiles
    font = ImageFont.load_default()
    line = font.getbbox("Ag")[3]  # the height of a line of text

    def ink(name: str) -> tuple[int, int]:
        """Width and height of the dark pixels in the name's row, left of the images."""
        top = PAD + rows.index(name) * (48 + PAD)
        ys, xs = np.nonzero(grid[top:top + 48, :label_width] < 128)
        return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)

    for name in names[:2]:  # GTSRB's shortest and longest: one line each, all of it
        assert ink(name)[0] >= font.getlength(name) - 2 and ink(name)[1] <= line
    width, height = ink(names[2])
    assert height > line  # on two lines or more
    assert width * -(-height // line) >= 0.8 * font.getlength(names[2])
    api.delete_dataset(ds["id"])


def test_cancel_a_job(api, digits):
    job = api.train(digits["id"], epochs=500, dim_h=4, n_z=4, random_state=1)
    api.cancel(job["id"])
    assert api.wait(job["id"], timeout=120)["status"] == "cancelled"
    assert job["id"] in {j["id"] for j in api.jobs(status="cancelled", kind="train")}


def test_upload_a_saved_model_as_folder_or_zip(api, tmp_path):
    from deepclsmote import DeepCLSMOTE

    images, labels = three_classes(tmp_path / "three.npz")
    # Integer labels: the API names classes as strings, and the service maps them back.
    DeepCLSMOTE(epochs=1, dim_h=4, n_z=4, device="cpu", random_state=0).fit(
        images, labels).save(tmp_path / "model")
    model = api.upload_model(tmp_path / "model")
    assert model["dataset_id"] is None and model["image_shape"] == [8, 8]
    assert [c["count"] for c in model["classes"]] == [40, 15, 8]
    with zipfile.ZipFile(tmp_path / "model.zip", "w") as zf:
        for name in ("config.json", "weights.pt"):
            zf.write(tmp_path / "model" / name, f"model/{name}")
    assert api.upload_model(tmp_path / "model.zip")["classes"] == model["classes"]
    _, y = api.samples(model["id"], {"2": 3})
    assert y.tolist() == ["2"] * 3
    api.delete_model(model["id"])
    with pytest.raises(ValueError, match="lacks"):
        api.upload_model(tmp_path)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ApiError) as info:
        api.upload_model(tmp_path / "junk.zip")
    assert (info.value.status, info.value.code) == (422, "invalid_model")


# --- the client's own logic, on fake answers -----------------------------------------
def fake(handler) -> Client:
    return Client("http://fake", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("header", ["0" * 64, None])
def test_a_corrupted_download_leaves_no_file(tmp_path, header):
    body = b"the artifact's bytes"

    def handler(request):
        headers = {"X-Checksum-SHA256": header} if header else {}
        return httpx.Response(200, content=body, headers=headers)

    (tmp_path / "kept.npz").write_bytes(b"an earlier download")
    with fake(handler) as api, pytest.raises(ChecksumMismatch) as info:
        api.download("j", "kept.npz", tmp_path)
    assert info.value.code == ("checksum_mismatch" if header else "checksum_missing")
    assert [p.name for p in tmp_path.iterdir()] == ["kept.npz"]
    assert (tmp_path / "kept.npz").read_bytes() == b"an earlier download"
    with fake(handler) as api, pytest.raises(ValueError, match="plain file name"):
        api.download("j", "../escape", tmp_path)


def test_errors_without_a_json_body_fall_back_to_the_status():
    with fake(lambda r: httpx.Response(502, text="Bad Gateway")) as api:
        with pytest.raises(ApiError) as info:
            api.datasets()
    assert (info.value.status, info.value.code, info.value.message) == (
        502, "http_502", "Bad Gateway")


def job_state(status, epoch=None):
    return {"id": "j", "kind": "train", "status": status,
            "progress": {"stage": "training", "epoch": epoch, "epochs": 2}}


def test_wait_polls_when_the_event_stream_breaks():
    states = iter([job_state("running", 1), job_state("running", 1), job_state("running", 2),
                   job_state("succeeded", 2)])

    def handler(request):
        if request.url.path.endswith("/events"):
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json=next(states))

    seen: list[dict] = []
    with fake(handler) as api:
        api.poll_seconds = 0.01
        job = api.wait("j", on_progress=seen.append)
    assert job["status"] == "succeeded"
    assert [j["progress"]["epoch"] for j in seen] == [1, 2]  # one call per change


def test_wait_follows_events_and_times_out():
    def stream(*states):
        text = "".join(f"event: progress\ndata: {json.dumps(s)}\n\n" for s in states)
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})

    def ends(request):
        return stream(job_state("running", 1), job_state("succeeded", 2))

    seen: list[dict] = []
    with fake(ends) as api:
        assert api.wait("j", on_progress=seen.append)["status"] == "succeeded"
    assert [j["status"] for j in seen] == ["running"]

    def never_ends(request):
        if request.url.path.endswith("/events"):
            return stream(job_state("running", 1))  # the stream ends without ``end``
        return httpx.Response(200, json=job_state("running", 1))

    with fake(never_ends) as api, pytest.raises(TimeoutError):
        api.poll_seconds = 0.01
        api.wait("j", timeout=0.2)


def test_parse_sse_fields_comments_and_multiline_data():
    lines = [": ping", "", "event: progress", "id: 1", 'data: {"a":', "data: 1}", "",
             "retry: 10", "data: 2\r", "", "event: end", "data: 3"]
    assert list(parse_sse(lines)) == [
        {"event": "progress", "id": "1", "job": {"a": 1}},
        {"event": "message", "id": "1", "job": 2},
    ]  # the last event has no blank line after it: cut off, so dropped
