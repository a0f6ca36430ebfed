"""Bad input over HTTP: a 4xx with a code and a message, and nothing stored or changed."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from .server import LiveServer, wait_for

UPLOAD_LIMIT = 2_000_000


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("bad"), max_upload_bytes=str(UPLOAD_LIMIT),
                     max_zip_entries="100", max_upload_images="500").start()
    yield srv
    srv.stop()


def _png(size=(8, 8), mode="L", value=128) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, value).save(buf, format="PNG")
    return buf.getvalue()


def _zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _good_images(n=10) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 8, 8), dtype=np.uint8)


def _two_classes(**extra) -> dict[str, bytes]:
    files = {f"a/{i}.png": _png(value=i * 10) for i in range(3)}
    files.update({f"b/{i}.png": _png(value=200 - i) for i in range(3)})
    files.update(extra)
    return files


HOSTILE = {
    "traversal": ("x.zip", _zip(_two_classes(**{"../evil/1.png": _png()})), "invalid_dataset"),
    "absolute path": ("x.zip", _zip(_two_classes(**{"/etc/1.png": _png()})), "invalid_dataset"),
    "symlink": ("x.zip", _zip(_two_classes(**{"a/link.png": b"/etc/passwd"}),
                              links=("a/link.png",)), "invalid_dataset"),
    "nested archive": ("x.zip", _zip(_two_classes(**{"a/inner.zip": _zip({"c/1.png": _png()})})),
                       "invalid_dataset"),
    "zip bomb by ratio": ("x.zip", _zip(_two_classes(**{"a/big.png": b"\0" * 50_000_000})),
                          "invalid_dataset"),
    "not an image": ("x.zip", _zip(_two_classes(**{"a/bad.png": b"not a png at all"})),
                     "invalid_dataset"),
    "truncated image": ("x.zip", _zip(_two_classes(**{"a/cut.png": _png()[:40]})),
                        "invalid_dataset"),
    "mixed sizes": ("x.zip", _zip(_two_classes(**{"a/big.png": _png((9, 9))})),
                    "option_needed"),
    "decompression bomb": ("x.zip", _zip(_two_classes(**{"a/huge.png": _png((3000, 3000))})),
                           "option_needed"),
    "single class": ("x.zip", _zip({f"a/{i}.png": _png() for i in range(4)}),
                     "too_few_classes"),
    "images too small": ("x.zip", _zip({"a/1.png": _png((4, 4)), "b/1.png": _png((4, 4))}),
                         "image_size"),
    "npz needing pickle": ("x.npz", _npz(images=np.array([object()] * 4, dtype=object),
                                         labels=np.arange(4)), "invalid_dataset"),
    "NaN pixels": ("x.npz", _npz(images=np.full((4, 8, 8), np.nan), labels=np.arange(4) % 2),
                   "invalid_dataset"),
    "labels without images": ("x.npz", _npz(images=_good_images(4), labels=np.arange(6) % 2),
                              "invalid_dataset"),
    "CSV row of the wrong width": (
        "x.csv", b"0," + b",".join([b"1"] * 64) + b"\n1," + b",".join([b"1"] * 63) + b"\n",
        "invalid_dataset"),
    "empty file": ("x.npz", b"", "empty_upload"),
    "zip bomb by entry count": ("x.zip", _zip({f"a/{i}.png": b"" for i in range(150)}),
                                "invalid_dataset"),
    "deeply nested path": ("x.zip", _zip(_two_classes(**{"a/b/c/d/e/f/1.png": _png()})),
                           "invalid_dataset"),
    "backslash member": ("x.zip", _zip(_two_classes(**{"a\\2.png": _png()})),
                         "invalid_dataset"),
    "drive-letter member": ("x.zip", _zip(_two_classes(**{"C:/a/3.png": _png()})),
                            "invalid_dataset"),
    "empty zip": ("x.zip", _zip({}), "invalid_dataset"),
    "16-bit grey PNG": ("x.zip", _zip(_two_classes(**{"a/deep.png": _png(mode="I;16")})),
                        "invalid_dataset"),
    "mixed channel counts": ("x.zip", _zip(_two_classes(**{"a/rgb.png": _png(mode="RGB",
                                                                             value=(1, 2, 3))})),
                             "option_needed"),
    "inf pixels": ("x.npz", _npz(images=np.full((4, 8, 8), np.inf), labels=np.arange(4) % 2),
                   "invalid_dataset"),
    "images of the wrong rank": ("x.npz", _npz(images=np.zeros((4, 8), np.uint8),
                                               labels=np.arange(4) % 2), "invalid_dataset"),
    "npz without labels": ("x.npz", _npz(images=_good_images(4)), "invalid_dataset"),
    "too many images": ("x.npz", _npz(images=np.zeros((600, 8, 8), np.uint8),
                                      labels=np.arange(600) % 2), "too_many_images"),
    "CSV with a word for a pixel": (
        "x.csv", b"0," + b",".join([b"1"] * 63) + b",x\n1," + b",".join([b"2"] * 64) + b"\n",
        "invalid_dataset"),
    "unknown format": ("x.pdf", b"%PDF-1.4 something", "unsupported_format"),
}


def _snapshot(srv, client) -> tuple:
    files = sorted(str(p.relative_to(srv.data_dir)) for p in srv.data_dir.rglob("*")
                   if p.is_file() and p.suffix not in (".db", ".db-wal", ".db-shm", ".log"))
    return (client.get("/v1/datasets").json(), client.get("/v1/models").json(),
            client.get("/v1/jobs").json(), files)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_upload_is_refused_and_nothing_is_stored(small_server, kind):
    filename, blob, code = HOSTILE[kind]
    with small_server.client() as c:
        before = _snapshot(small_server, c)
        r = c.post("/v1/datasets", files={"file": (filename, blob)})
        after = _snapshot(small_server, c)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    body = r.json()["error"]
    assert body["code"] == code, body
    assert len(body["message"]) > 10
    assert after == before


def test_body_over_the_limit_is_413_before_it_is_read(small_server):
    with small_server.client() as c:
        before = _snapshot(small_server, c)
        big = b"\0" * (UPLOAD_LIMIT + 2_000_000)
        r = c.post("/v1/datasets", files={"file": ("big.npz", big)})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

        def chunks():  # no Content-Length: the limit applies as the body streams
            yield (b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.npz"\r\n'
                   b"Content-Type: application/octet-stream\r\n\r\n")
            for _ in range(40):
                yield b"\0" * 100_000

        r = c.post("/v1/datasets", content=chunks(),
                   headers={"content-type": "multipart/form-data; boundary=x"})
        assert r.status_code == 413
        assert _snapshot(small_server, c) == before


def _upload_counts(client, counts: dict[str, int]) -> dict:
    images = np.concatenate([np.random.default_rng(i).integers(0, 256, (n, 8, 8), np.uint8)
                             for i, n in enumerate(counts.values())])
    labels = np.repeat(np.arange(len(counts)), list(counts.values()))
    r = client.post("/v1/datasets", files={"file": ("d.npz", _npz(
        images=images, labels=labels, classes=np.array(list(counts))))})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize(("counts", "params", "code"), [
    ({"big": 20, "lonely": 1}, {"recipe": "deepclsmote-paper"}, "class_too_small"),
    ({"big": 20, "lonely": 1}, {"interpolation": "smote"}, "class_too_small"),
    ({"big": 20, "small": 4}, {"recipe": "deepsmote-paper", "k_neighbors": 5},
     "k_neighbors_too_large"),
    ({"big": 20, "small": 8}, {"epochs": 0}, "invalid_request"),
    ({"big": 20, "small": 8}, {"epoch": 3}, "invalid_request"),
    ({"big": 20, "small": 8}, {"method": "gan"}, "invalid_request"),
    ({"big": 20, "small": 8}, {"recipe": "best"}, "invalid_request"),
    ({"big": 20, "small": 8}, {"recipe": "recommended", "method": "deepsmote"},
     "invalid_request"),
    ({"big": 20, "small": 8}, {"interpolation": "sideways"}, "invalid_request"),
    ({"big": 20, "small": 8}, {"step_scale": 0}, "invalid_request"),
    # the library's own checks, at submit time: direct decoding has no foreground to keep,
    # and DeepSMOTE has no class-latent weights
    ({"big": 20, "small": 8}, {"recipe": "deepclsmote-paper", "foreground_margin": 2},
     "invalid_params"),
    ({"big": 20, "small": 8}, {"recipe": "deepsmote-paper", "w_compact": 0.1},
     "invalid_params"),
    ({"a": 1, "b": 1}, {}, "class_too_small"),     # transfer needs a class of 2+ images
])
def test_train_requests_that_cannot_work_are_refused_before_queueing(small_server, counts,
                                                                     params, code):
    with small_server.client() as c:
        ds = _upload_counts(c, counts)
        jobs_before = c.get("/v1/jobs").json()
        r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"], "params": params})
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
        assert c.get("/v1/jobs").json() == jobs_before
        assert c.delete(f"/v1/datasets/{ds['id']}").status_code == 204


def test_transfer_needs_no_neighbours_within_the_class(small_server):
    # 4 images cannot give k_neighbors=5 for SMOTE, nor 1 image anything, but
    # transfer moves them by the large class's steps: accepted, and it trains.
    with small_server.client() as c:
        ds = _upload_counts(c, {"big": 20, "small": 4, "lonely": 1})
        params = {"epochs": 2, "dim_h": 4, "n_z": 4, "decoding": "residual",
                  "interpolation": "transfer", "step_scale": 1.5, "foreground_margin": 1}
        r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"], "params": params})
        assert r.status_code == 202, r.text
        job = wait_for(c, r.json()["id"])
        assert job["status"] == "succeeded", job
        model = c.get(f"/v1/models/{job['result']['model_id']}").json()
        assert model["params"]["interpolation"] == "transfer"
        assert model["params"]["step_scale"] == 1.5
        assert model["params"]["foreground_margin"] == 1
        r = c.post(f"/v1/models/{model['id']}/samples",
                   json={"sampling_strategy": {"small": 6, "lonely": 3}, "random_state": 1})
        assert r.status_code == 200, r.text
        with np.load(io.BytesIO(r.content)) as npz:
            assert npz["images"].shape == (9, 8, 8)
            assert sorted(npz["labels"].tolist()) == ["lonely"] * 3 + ["small"] * 6


def test_unknown_ids_and_classes_are_named(small_server):
    with small_server.client() as c:
        missing = "0" * 32
        r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": missing})
        assert r.status_code == 404 and r.json()["error"]["code"] == "dataset_not_found"
        r = c.post("/v1/jobs", json={"kind": "generate", "model_id": missing})
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
        r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": "not-an-id"})
        assert r.status_code == 422 and "dataset_id" in r.json()["error"]["message"]
        r = c.post("/v1/jobs", json={"kind": "explode", "dataset_id": missing})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        for path in (f"/v1/jobs/{missing}", f"/v1/models/{missing}",
                     f"/v1/datasets/{missing}", f"/v1/jobs/{missing}/artifacts/x.npz"):
            r = c.get(path)
            assert r.status_code == 404 and r.json()["error"]["message"], path
        ds = next(d for d in c.get("/v1/datasets").json() if d["name"] == "digits")
        r = c.post("/v1/jobs", json={"kind": "generate", "dataset_id": ds["id"]})
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_model"


def test_a_dataset_in_use_cannot_be_deleted(small_server):
    with small_server.client() as c:
        ds = _upload_counts(c, {"a": 30, "b": 10})
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                       "params": {"epochs": 2000, "dim_h": 4, "n_z": 4}}).json()
        r = c.delete(f"/v1/datasets/{ds['id']}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "dataset_in_use"
        assert c.get(f"/v1/datasets/{ds['id']}").status_code == 200
        c.post(f"/v1/jobs/{job['id']}/cancel")


def test_model_upload_refuses_a_pickle_payload_without_running_it(small_server, tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    blob = _zip({"model/config.json": b'{"format": "deepclsmote-model"}',
                 "model/weights.pt": pickle.dumps(Exploit())})
    with small_server.client() as c:
        before = _snapshot(small_server, c)
        r = c.post("/v1/models", files={"file": ("m.zip", blob)})
        assert r.status_code == 422, r.text
        assert _snapshot(small_server, c) == before
    assert not marker.exists()


def test_multipart_with_too_many_parts_is_refused(small_server):
    with small_server.client() as c:
        before = _snapshot(small_server, c)
        fields = [(f"f{i}", (None, b"x")) for i in range(1500)]
        r = c.post("/v1/datasets", files=[("file", ("x.npz", b"PK")), *fields])
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["error"]["message"]
        assert _snapshot(small_server, c) == before


def test_the_api_offers_exactly_the_library_s_choices():
    # app.schemas spells the names out so that its types are plain Literals.
    from typing import get_args

    from app.schemas import (
        DEFAULT_METHODS,
        EvaluateParams,
        EvaluationMethod,
        RecipeName,
        TrainParams,
    )
    from deepclsmote import DeepCLSMOTE, generation, recipes
    from deepclsmote.evaluation import classifiers, methods

    assert list(get_args(RecipeName)) == list(recipes.RECIPES)
    assert TrainParams.model_fields["recipe"].default == recipes.DEFAULT_RECIPE
    assert list(get_args(EvaluationMethod)) == list(methods.METHODS)
    assert DEFAULT_METHODS == methods.DEFAULT_METHODS
    schedule = EvaluateParams.model_fields["lr_schedule"]
    assert get_args(schedule.annotation) == classifiers.LR_SCHEDULES
    assert schedule.default == classifiers.TrainSpec().lr_schedule
    fields = TrainParams.model_fields

    def choices(name):  # Literal[...] | None
        literal = next(a for a in get_args(fields[name].annotation) if a is not type(None))
        return get_args(literal)

    assert choices("decoding") == generation.DECODINGS
    assert choices("interpolation") == generation.INTERPOLATIONS
    from app.schemas import FitName, SplitName
    from deepclsmote.datasets import base, folder

    assert get_args(FitName) == base.FITS and get_args(SplitName) == folder.SPLITS
    # every other field overrides a parameter of the library's, and is unset by default
    library = DeepCLSMOTE().get_params()
    overrides = set(fields) - {"recipe", "method", "random_state"}
    assert overrides <= set(library)
    assert all(fields[k].default is None for k in overrides)


