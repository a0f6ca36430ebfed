"""Uploads as real datasets ship, over HTTP against the real service.

Each test answers one way a new user's data was refused or changed without a
word: mixed image sizes, options that were ignored, IDX files, tar archives,
TIFF and WebP, train/test trees, npz layouts, large photographs, CSV headers,
transparency, and the same upload stored twenty times. Every file is made
here, small, except a few large photographs that compress to little.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from .server import LiveServer, wait_for

TINY = {"epochs": 1, "dim_h": 4, "n_z": 4, "batch_size": 16}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("uploads")).start()
    yield srv
    srv.stop()


def image_bytes(size=(16, 16), mode="L", fmt="PNG", seed=0, value=None) -> bytes:
    """Noise (or one value) as an image file; ``size`` is (width, height) as Pillow has it."""
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], len(mode))
    rng = np.random.default_rng(seed)
    pixels = (np.full(shape, value, np.uint8) if value is not None
              else rng.integers(0, 256, shape, dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format=fmt)
    return buffer.getvalue()


def photo(width: int, height: int, seed: int) -> bytes:
    """A large, smooth 'photograph' (a colour gradient): megapixels in a few tens of kB."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    base = rng.uniform(40, 200, 3).astype(np.float32)
    pixels = np.clip(base + 50 * x - 40 * y, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def zip_of(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_of(members: dict, compress: bool) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = name if isinstance(name, tarfile.TarInfo) else tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue()) if compress else buffer.getvalue()


def npz_of(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def two_classes(n=(4, 3), **kw) -> dict:
    return {f"{label}/{i}.png": image_bytes(seed=10 * j + i, **kw)
            for j, (label, count) in enumerate(zip(("cat", "dog"), n, strict=True))
            for i in range(count)}


def upload(client, filename: str, blob: bytes, params=None, **fields):
    return client.post("/v1/datasets", files={"file": (filename, blob)},
                       data={k: str(v) for k, v in fields.items()}, params=params)


def refused(response, code: str, *phrases: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    for phrase in phrases:
        assert phrase in error["message"], error["message"]
    return error["message"]


def kinds(dataset: dict) -> list[str]:
    return [c["kind"] for c in dataset["conversions"]]


def stored(srv: LiveServer) -> list[str]:
    return sorted(p.name for p in (srv.data_dir / "datasets").glob("*.npz"))


# --- the options: size, mode, fit, split, header; nothing unknown is ignored -------------------


def test_mixed_sizes_are_refused_naming_the_upload_options_then_resized(server):
    blob = zip_of({**two_classes(), "dog/wide.png": image_bytes((24, 16))})
    with server.client() as c:
        message = refused(upload(c, "mixed.zip", blob), "option_needed", "size=HxW",
                          "fit=stretch, crop or pad")
        assert "size=(H, W)" not in message and "mixed.zip:dog/wide.png" in message
        r = upload(c, "mixed.zip", blob, size="16x16")
        assert r.status_code == 201, r.text
        ds = r.json()
        assert ds["image_shape"] == [16, 16] and ds["n_images"] == 8 and not ds["duplicate"]
        (resize,) = ds["conversions"]
        assert resize["kind"] == "resize" and resize["count"] == 1
        assert "resized to 16x16 (fit=stretch" in resize["detail"]
        assert c.get(f"/v1/datasets/{ds['id']}").json()["conversions"] == ds["conversions"]


def test_an_option_the_endpoint_does_not_know_is_refused_not_ignored(server):
    blob = zip_of(two_classes())
    with server.client() as c:
        before = stored(server)
        refused(upload(c, "a.zip", blob, params={"size": "32x32"}), "unknown_field",
                "query parameter 'size'", "file, fit, header, mode, name, size, split")
        refused(upload(c, "a.zip", blob, sizes="32x32"), "unknown_field", "form field 'sizes'")
        refused(upload(c, "a.zip", blob, size="32,32"), "invalid_request", "size")
        refused(upload(c, "a.zip", blob, size="256x256"), "invalid_request",
                "8 to 128 pixels a side; got 256x256")
        refused(upload(c, "a.zip", blob, fit="pad"), "invalid_request", "fit: applies only "
                                                                          "with size=HxW")
        refused(upload(c, "a.zip", blob, mode="CMYK"), "invalid_request", "mode")
        refused(upload(c, "a.zip", blob, header="true"), "option_not_applicable",
                "header does not apply to a.zip, a zip of images; it applies to a CSV file")
        assert stored(server) == before


def test_the_options_are_in_the_openapi_schema(server):
    with server.client() as c:
        spec = c.get("/openapi.json").json()
    body = spec["paths"]["/v1/datasets"]["post"]["requestBody"]["content"]["multipart/form-data"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[1]
    fields = spec["components"]["schemas"][ref]["properties"]
    assert set(fields) == {"file", "name", "size", "mode", "fit", "split", "header"}
    assert "stretch (the default" in fields["fit"]["description"]
    assert {"200", "201", "422"} <= set(spec["paths"]["/v1/datasets"]["post"]["responses"])


# --- formats ------------------------------------------------------------------------------


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                        for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzipped"])
def test_idx_files_in_a_zip(server, gz):
    images = np.random.default_rng(int(gz)).integers(0, 256, (6, 28, 28), dtype=np.uint8)
    pack = gzip.compress if gz else bytes
    suffix = ".gz" if gz else ""
    blob = zip_of({f"t10k-images-idx3-ubyte{suffix}": pack(idx(images)),
                   f"t10k-labels-idx1-ubyte{suffix}": pack(idx(np.array([0, 1] * 3)))})
    with server.client() as c:
        r = upload(c, "mnist.zip", blob)
    assert r.status_code == 201, r.text
    ds = r.json()
    assert ds["source_format"] == "idx" and ds["image_shape"] == [28, 28]
    assert [k["count"] for k in ds["classes"]] == [3, 3] and ds["conversions"] == []


@pytest.mark.parametrize("filename", ["pets.tar", "pets.tar.gz", "pets.tgz"])
def test_tar_archives(server, filename):
    members = {f"pets/{k}": v for k, v in two_classes((3, 2)).items()}
    members["pets/cat/0.png"] = image_bytes(seed=sum(map(ord, filename)))  # its own content
    with server.client() as c:
        r = upload(c, filename, tar_of(members, compress=filename != "pets.tar"))
    assert r.status_code == 201, r.text
    assert r.json()["source_format"] == "tar" and r.json()["n_images"] == 5


@pytest.mark.parametrize(("member", "phrase"), [
    ("../evil/0.png", "contains '..'"),
    ("/etc/cat/0.png", "is an absolute path"),
    ("cat/inner.zip", "is an archive inside the archive"),
])
def test_tar_archives_follow_the_zip_rules(server, member, phrase):
    members = {**two_classes(), member: image_bytes()}
    with server.client() as c:
        before = stored(server)
        refused(upload(c, "evil.tar.gz", tar_of(members, compress=True)), "invalid_dataset",
                phrase, "evil.tar.gz")
        link = tarfile.TarInfo("cat/link.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        refused(upload(c, "link.tar", tar_of({**two_classes(), link: b""}, compress=False)),
                "invalid_dataset", "'cat/link.png' is a symbolic link")
        bomb = {**two_classes(), "cat/flat.bmp": bytes(8 << 20)}
        refused(upload(c, "bomb.tgz", tar_of(bomb, compress=True)), "invalid_dataset",
                "refused as a tar bomb")
        assert stored(server) == before


def test_tiff_and_webp(server):
    members = {f"cat/{i}.tif": image_bytes(fmt="TIFF", seed=i) for i in range(3)}
    members.update({f"dog/{i}.webp": image_bytes(mode="RGB", fmt="WEBP", seed=9 + i)
                    for i in range(2)})
    with server.client() as c:
        r = upload(c, "scans.zip", zip_of(members), mode="L")
    assert r.status_code == 201, r.text
    assert r.json()["n_images"] == 5
    assert r.json()["conversions"][0]["detail"] == "2 of 5 images converted to L (from RGB: 2)"


def test_train_and_test_folders_and_the_split_option(server):
    tree = {}
    for split, n in (("train", (4, 3)), ("test", (2, 2))):
        for j, (label, count) in enumerate(zip(("cat", "dog"), n, strict=True)):
            for i in range(count):
                tree[f"data/{split}/{label}/{i}.png"] = image_bytes(seed=100 * j + 10 * i
                                                                    + len(split))
    with server.client() as c:
        every = upload(c, "data.zip", zip_of(tree)).json()
        train = upload(c, "data.zip", zip_of(tree), split="train").json()
        refused(upload(c, "a.npz", npz_of(images=np.zeros((4, 8, 8), np.uint8),
                                          labels=[0, 1, 0, 1]), split="train"),
                "option_not_applicable", "split does not apply to a.npz, an .npz")
        refused(upload(c, "flat.zip", zip_of(two_classes()), split="test"), "invalid_dataset",
                "has no train/ and test/ folders")
    assert every["n_images"] == 11 and train["n_images"] == 7
    assert every["conversions"][0] == {"kind": "split", "count": None, "detail":
                                       "split=all: read test/ (4 images), train/ (7 images)"}
    assert train["conversions"][0]["detail"] == ("split=train: read train/ (7 images); left "
                                                 "out test/ (4 images)")


def test_npz_channels_first_and_flat_rows(server):
    rng = np.random.default_rng(5)
    nhwc = rng.integers(0, 256, (6, 12, 10, 3), dtype=np.uint8)
    labels = np.array([0, 0, 0, 0, 1, 1])
    with server.client() as c:
        nchw = upload(c, "nchw.npz", npz_of(images=nhwc.transpose(0, 3, 1, 2), labels=labels))
        flat = upload(c, "flat.npz", npz_of(X=nhwc.reshape(6, -1), y=labels,
                                            image_shape=np.array([12, 10, 3])))
    assert nchw.status_code == 201 and nchw.json()["duplicate"] is False, nchw.text
    assert nchw.json()["image_shape"] == [12, 10, 3] and kinds(nchw.json()) == ["layout"]
    # the same content as the NCHW upload: the same dataset
    assert flat.status_code == 200 and flat.json()["duplicate"] is True
    assert flat.json()["id"] == nchw.json()["id"]


# --- sizes: up to 128 px, large images with a size, the bomb guard without -------------------


def test_images_up_to_128_pixels_and_beyond_with_size(server):
    with server.client() as c:
        big = upload(c, "big.zip", zip_of(two_classes(size=(128, 96))))
        assert big.status_code == 201 and big.json()["image_shape"] == [96, 128]
        message = refused(upload(c, "huge.zip", zip_of(two_classes(size=(200, 160)))),
                          "image_size", "images are 160x200 pixels; jobs take 8 to 128 pixels "
                                        "a side", "size=HxW")
        assert "size=(H, W)" not in message
        ok = upload(c, "huge.zip", zip_of(two_classes(size=(200, 160))), size="80x100",
                    fit="crop")
        assert ok.status_code == 201 and ok.json()["image_shape"] == [80, 100]


def test_a_huge_photo_is_a_bomb_without_size_and_is_decoded_reduced_with_it(server):
    flat_huge = image_bytes((6000, 6000), value=90)  # 36 Mpixel in a few kB
    blob = zip_of({**two_classes(), "dog/huge.png": flat_huge})
    with server.client() as c:
        message = refused(upload(c, "bomb.zip", blob), "option_needed",
                          "bomb.zip:dog/huge.png is 6000x6000 pixels",
                          "refused before decoding", "Give the upload option size=HxW")
        assert "size=(H, W)" not in message
        r = upload(c, "bomb.zip", blob, size="64x64")
    assert r.status_code == 201, r.text
    assert r.json()["image_shape"] == [64, 64]
    assert "6000x6000 (1)" in r.json()["conversions"][0]["detail"]


def _peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))


def test_a_folder_of_large_photos_is_resized_in_bounded_memory(server):
    """4000x3000 photographs take 36 MB each decoded whole; decoded reduced (a JPEG at 1/8 of
    its size), the service's peak memory grows by less than one of them would take."""
    photos = {f"{'cat' if i < 4 else 'dog'}/{i}.jpg": photo(4000, 3000, seed=i)
              for i in range(6)}
    blob = zip_of(photos)
    with server.client() as c:
        upload(c, "warm.zip", zip_of(two_classes()), size="64x64")  # the code paths, warm
        before = _peak_rss_kb(server.process.pid)
        r = upload(c, "photos.zip", blob, size="64x64")
        grown_mb = (_peak_rss_kb(server.process.pid) - before) / 1024
    assert r.status_code == 201, r.text
    assert r.json()["image_shape"] == [64, 64, 3] and r.json()["n_images"] == 6
    assert grown_mb < 24, f"the service's peak memory grew by {grown_mb:.0f} MB"


# --- nothing lost without a word --------------------------------------------------------------


def csv_rows(labels, side=8, seed=0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [",".join([label, *map(str, rng.integers(0, 256, side * side))]) for label in labels]


def test_a_csv_of_string_labels_without_a_header_keeps_every_row(server):
    labels = ["cat"] * 26 + ["dog"] * 14
    blob = ("\n".join(csv_rows(labels)) + "\n").encode()
    with server.client() as c:
        r = upload(c, "pets.csv", blob)
    assert r.status_code == 201, r.text
    ds = r.json()
    assert ds["n_images"] == 40
    assert ds["classes"] == [{"name": "cat", "count": 26}, {"name": "dog", "count": 14}]
    (header,) = ds["conversions"]
    assert header["kind"] == "header" and "was read as data, an image" in header["detail"]


def test_a_csv_header_is_applied_when_clear_and_asked_for_when_not(server):
    names = ",".join(["label"] + [f"pixel{i}" for i in range(64)])
    with server.client() as c:
        clear = upload(c, "h.csv", ("\n".join([names, *csv_rows(["0", "1", "1"])])
                                    + "\n").encode())
        assert clear.status_code == 201 and clear.json()["n_images"] == 3
        assert "read as a header" in clear.json()["conversions"][0]["detail"]
        unclear = ("\n".join(csv_rows(["kind", "cat", "dog", "dog"], seed=3)) + "\n").encode()
        before = stored(server)
        refused(upload(c, "u.csv", unclear), "option_needed",
                "cannot tell whether the first row", "header=true", "header=false")
        assert stored(server) == before
        as_data = upload(c, "u.csv", unclear, header="false")
        as_header = upload(c, "u.csv", unclear, header="true")
    assert as_data.status_code == 201 and as_data.json()["n_images"] == 4
    assert as_header.status_code == 201 and as_header.json()["n_images"] == 3


def test_transparency_is_composited_onto_white_and_said(server):
    clear = image_bytes(mode="RGBA", value=0)  # every pixel transparent
    members = {**two_classes(mode="RGB"), "cat/clear.png": clear}
    with server.client() as c:
        r = upload(c, "alpha.zip", zip_of(members))
        assert r.status_code == 201, r.text
        ds = r.json()
        grid = c.get(f"/v1/datasets/{ds['id']}/preview?per_class=8")
    notes = {n["kind"]: n for n in ds["conversions"]}
    assert notes["alpha"]["count"] == 1 and "composited onto white" in notes["alpha"]["detail"]
    assert notes["mode"]["detail"] == "1 of 8 images converted to RGB (from RGBA: 1)"
    assert grid.status_code == 200


def test_twenty_identical_uploads_are_one_dataset(server, make_server):
    blob = zip_of(two_classes((5, 5)))
    with server.client() as c:
        first = upload(c, "same.zip", blob, name="first")
        assert first.status_code == 201 and first.json()["duplicate"] is False
        again = [upload(c, "same.zip", blob, name=f"copy {i}") for i in range(19)]
        n_datasets = len(c.get("/v1/datasets").json())
        renamed = upload(c, "other-name.npz", npz_of(
            images=np.stack([np.asarray(Image.open(io.BytesIO(v)))
                             for v in two_classes((5, 5)).values()]),
            labels=np.array([0] * 5 + [1] * 5), classes=np.array(["cat", "dog"])))
    assert {r.status_code for r in again} == {200}
    assert {r.json()["id"] for r in again} == {first.json()["id"]}
    assert all(r.json()["duplicate"] and r.json()["name"] == "first" for r in again)
    assert again[0].headers["location"] == f"/v1/datasets/{first.json()['id']}"
    assert n_datasets == len([d for d in stored(server)])
    # the same canonical content from another format is the same dataset too
    assert renamed.status_code == 200 and renamed.json()["id"] == first.json()["id"]
    # another tenant's identical upload is its own
    keyed = make_server(api_keys="alice:ka,bob:kb").start()
    with keyed.client("ka") as alice, keyed.client("kb") as bob:
        a, b = upload(alice, "same.zip", blob), upload(bob, "same.zip", blob)
    assert (a.status_code, b.status_code) == (201, 201) and a.json()["id"] != b.json()["id"]


# --- end to end -------------------------------------------------------------------------------


def test_mixed_size_photos_resized_to_64_train_and_generate(server):
    members = {f"cat/{i}.jpg": photo(w, h, seed=i) for i, (w, h) in
               enumerate([(4000, 3000), (640, 480), (300, 500), (1024, 768), (90, 90),
                          (3000, 4000), (800, 600), (120, 200)])}
    members.update({f"dog/{i}.png": image_bytes((w, h), mode="RGB", seed=50 + i) for i, (w, h)
                    in enumerate([(64, 64), (100, 80), (2000, 1500), (48, 64)])})
    with server.client() as c:
        r = upload(c, "photos.zip", zip_of(members), size="64x64", fit="crop")
        assert r.status_code == 201, r.text
        ds = r.json()
        assert ds["image_shape"] == [64, 64, 3] and ds["n_images"] == 12
        assert kinds(ds) == ["resize"] and ds["conversions"][0]["count"] == 11
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"],
                                       "params": TINY}).json()
        job = wait_for(c, job["id"])
        assert job["status"] == "succeeded", job
        gen = c.post("/v1/jobs", json={"kind": "generate", "model_id": job["model_id"],
                                       "params": {"sampling_strategy": "auto"}}).json()
        gen = wait_for(c, gen["id"])
        assert gen["status"] == "succeeded", gen
        samples = c.get(f"/v1/jobs/{gen['id']}/artifacts/samples.npz")
        with np.load(io.BytesIO(samples.content)) as npz:
            assert npz["images"].shape == (4, 64, 64, 3)  # dog grows from 4 to 8
        # and at the largest working size
        r = upload(c, "photos.zip", zip_of(members), size="128x128")
        assert r.status_code == 201 and r.json()["image_shape"] == [128, 128, 3]
        job = c.post("/v1/jobs", json={"kind": "train", "dataset_id": r.json()["id"],
                                       "params": TINY}).json()
        assert wait_for(c, job["id"])["status"] == "succeeded"
