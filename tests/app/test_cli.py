"""app.cli: the service's commands, run in this process against the real service."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from app.cli import main, parse_strategy

from .server import free_port
from .test_client import three_classes

TINY = ["--epochs", "2", "--dim-h", "4", "--n-z", "4"]


@pytest.fixture
def run(server, capsys):
    """``run(*argv)`` -> (exit code, stdout, stderr) of ``deepclsmote ... --server URL``."""

    def call(*argv: str) -> tuple[int, str, str]:
        rc = main([*argv, "--server", server.url])
        out, err = capsys.readouterr()
        return rc, out, err

    return call


@pytest.fixture(scope="module")
def digits_id(server):
    from app.client import Client

    with Client(server.url) as api:
        return next(d["id"] for d in api.datasets() if d["name"] == "digits")


def test_upload_and_list_datasets(run, tmp_path):
    three_classes(tmp_path / "three.npz")
    rc, out, _ = run("upload", str(tmp_path / "three.npz"), "--name", "three")
    assert rc == 0
    assert "'three': 63 images 8x8, 3 classes (imbalance ratio 5.00)" in out
    assert "0: 40, 1: 15, 2: 8" in out
    rc, out, _ = run("datasets")
    assert rc == 0 and "digits" in out and "three" in out
    rc, out, _ = run("datasets", "--json")
    assert {d["name"] for d in json.loads(out)} >= {"digits", "three"}


def test_upload_options_and_what_changed(run, tmp_path):
    import zipfile

    from PIL import Image

    with zipfile.ZipFile(tmp_path / "mixed.zip", "w") as archive:
        for i, size in enumerate([(12, 12), (20, 10), (12, 12), (9, 9)]):
            image = tmp_path / f"{i}.png"
            Image.new("RGB", size, (10 * i, 0, 0)).save(image)
            archive.write(image, f"{'ab'[i % 2]}/{i}.png")
    rc, _, err = run("upload", str(tmp_path / "mixed.zip"))
    assert rc != 0 and "Give the upload option size=HxW" in err
    args = ["upload", str(tmp_path / "mixed.zip"), "--size", "12x12", "--fit", "pad",
            "--mode", "L"]
    rc, out, err = run(*args)
    assert rc == 0, err
    assert "uploaded dataset" in out and "resize: 2 of 4 images resized to 12x12 (fit=pad" in out
    assert "mode: 4 of 4 images converted to L (from RGB: 4)" in out
    rc, out, _ = run(*args)
    assert rc == 0 and "already stored as dataset" in out


def test_train_wait_status_download_and_models(run, tmp_path, digits_id):
    rc, out, err = run("train", digits_id, *TINY, "--seed", "3", "--wait")
    assert rc == 0, err
    assert "epoch 2/2" in out and "loss" in out  # the progress bar
    job_id = out.split()[1]
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"job {job_id} (train) succeeded: model ")
    model_id = last.split()[-1]

    rc, out, _ = run("status", job_id)
    assert rc == 0 and f"job {job_id}: train succeeded" in out and "history.json" in out
    rc, out, _ = run("status", "--kind", "train")
    assert out.splitlines()[0].split()[:3] == ["JOB", "KIND", "STATUS"] and job_id in out
    row = next(line for line in out.splitlines() if line.startswith(job_id))
    assert "digits · recommended" in row  # the model's name (the dataset's and the recipe)
    rc, out, _ = run("status", job_id, "--json")
    job = json.loads(out)
    assert job["status"] == "succeeded" and job["result"]["model_id"] == model_id

    rc, out, _ = run("download", job_id, "--out", str(tmp_path / "all"))
    assert rc == 0 and "SHA-256 verified" in out
    saved = tmp_path / "all" / "history.json"
    expected = job["result"]["artifacts"][0]["sha256"]
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected
    rc, out, _ = run("download", job_id, "history.json", "--out", str(tmp_path))
    assert rc == 0 and (tmp_path / "history.json").read_bytes() == saved.read_bytes()

    rc, out, _ = run("models", "--dataset-id", digits_id)
    assert rc == 0 and model_id in out and "recommended" in out


def test_generate_waits_and_downloads(run, tmp_path, digits_id):
    rc, _, err = run("train", digits_id, *TINY, "--seed", "3", "--wait")
    assert rc == 0, err  # the same data and parameters: the model of the test above
    rc, out, err = run("generate", "--dataset-id", digits_id, "--strategy",
                       '{"4": 5}', "--seed", "1", "--download", str(tmp_path))
    assert rc == 0, err
    assert "succeeded: 5 synthetic images" in out
    with np.load(tmp_path / "samples.npz") as data:
        assert data["labels"].tolist() == ["4"] * 5


def test_train_takes_a_recipe_and_overrides_and_the_service_checks_them(run, server,
                                                                        digits_id):
    from app.client import Client

    rc, out, err = run("train", digits_id, *TINY, "--foreground-margin", "1", "--wait")
    assert rc == 0, err
    with Client(server.url) as api:
        model = api.model(out.strip().split()[-1])
    assert model["recipe"] == "recommended"     # the default, with its residual decoding
    assert model["params"]["foreground_margin"] == 1
    assert model["params"]["decoding"] == "residual"
    rc, _, err = run("train", digits_id, *TINY, "--recipe", "deepclsmote-paper",
                     "--foreground-margin", "1")
    assert rc != 0 and "it needs decoding='residual', got decoding='direct'" in err


def test_remote_evaluate_submits_and_cancel_stops_it(run, digits_id):
    rc, out, _ = run("evaluate", "--dataset-id", digits_id, "--methods", "none,ros",
                     "--folds", "2", "--profile", "smoke", "--augment", "off",
                     "--imbalance", "paper", "--test-per-class", "12", "--lr-schedule",
                     "cosine", "--json")
    assert rc == 0
    job = json.loads(out)
    assert job["kind"] == "evaluate" and job["params"]["methods"] == ["none", "ros"]
    assert job["params"]["imbalance"] == "paper"
    assert job["params"]["folds"] == 2 and job["params"]["augment"] == "off"
    assert job["params"]["test_per_class"] == 12 and job["params"]["lr_schedule"] == "cosine"
    rc, out, _ = run("cancel", job["id"])
    assert rc == 0 and f"job {job['id']}:" in out


def test_remote_evaluate_waits_and_says_a_smoke_run_is_a_wiring_check(run, digits_id):
    rc, out, _ = run("evaluate", "--dataset-id", digits_id, "--methods", "none,ros",
                     "--folds", "2", "--profile", "smoke", "--augment", "off", "--wait")
    assert rc == 0, out
    assert re.search(r"\) succeeded in [\d.]+ s\n  wiring check \(profile smoke\): the "
                     r"pipeline runs on this data", out), out
    assert "Verdict" not in out and "against random oversampling" not in out


def test_evaluate_needs_exactly_one_source(capsys):
    for argv in (["evaluate", "--out", "x"],
                 ["evaluate", "--dataset", "digits", "--dataset-id", "0" * 32]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert "exactly one of --dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--dataset", "digits"])
    assert "required: --out" in capsys.readouterr().err
    # options of the files read here are refused for a stored dataset, not ignored
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--dataset-id", "0" * 32, "--split", "train", "--size", "8x8"])
    assert info.value.code == 2
    assert "--split, --size apply to --dataset (files read here)" in capsys.readouterr().err


def test_service_errors_exit_1_with_the_message(run, capsys):
    rc, _, err = run("status", "0" * 32)
    assert rc == 1
    assert err.strip() == f"deepclsmote: error: job {'0' * 32} not found (job_not_found)"
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["datasets", "--server", url]) == 1
    assert f"cannot connect to the service at {url}" in capsys.readouterr().err


def test_strategy_parsing():
    assert parse_strategy("not minority") == "not minority"
    assert parse_strategy("0.5") == 0.5
    assert parse_strategy('{"3": 50}') == {"3": 50}
    with pytest.raises(Exception, match="JSON object"):
        parse_strategy("[1, 2]")


def test_serve_refuses_an_open_service_off_loopback(monkeypatch, capsys, tmp_path):
    from app import cli_server

    calls = []  # where it would listen: not bound, so that a busy port 8000 cannot fail it
    monkeypatch.setattr(cli_server, "listen", lambda host, port: (host, port))
    monkeypatch.setattr(cli_server, "run_app", lambda settings, sock: calls.append(sock) or True)
    for name in ("API_KEYS", "HOST", "PORT", "RUN_DIR"):
        monkeypatch.delenv(f"DEEPCLSMOTE_{name}", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]) == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in capsys.readouterr().err
    assert calls == []
    assert main(["serve", "--port", "8123", "--data-dir", str(tmp_path)]) == 0
    monkeypatch.setenv("DEEPCLSMOTE_API_KEYS", "alice:secret")
    assert main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]) == 0
    assert calls == [("127.0.0.1", 8123), ("0.0.0.0", 8000)]
