import json

import numpy as np
import pytest
import torch

import deepclsmote
from deepclsmote import DeepCLSMOTE, DeepSMOTE, ModelFormatError

from .conftest import TINY


@pytest.fixture
def string_labelled(small_imbalanced):
    X, y = small_imbalanced
    names = np.array(["zero", "one", "two"])
    return X, names[y]


def test_save_load_gives_identical_samples_and_codes(tmp_path, string_labelled):
    X, y = string_labelled
    sampler = DeepCLSMOTE(random_state=0, decoding="residual", **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    sampler.save(tmp_path / "m")
    loaded = DeepCLSMOTE.load(tmp_path / "m", device="cpu")
    assert loaded.classes_.tolist() == ["one", "two", "zero"]
    assert loaded.classes_.dtype == sampler.classes_.dtype
    X_new, y_new = loaded.sample()
    np.testing.assert_array_equal(X_new, X_res[len(y):])
    np.testing.assert_array_equal(y_new, y_res[len(y):])
    np.testing.assert_array_equal(loaded.encode(X), sampler.encode(X))
    a = sampler.sample({"two": 9}, random_state=5)
    b = loaded.sample({"two": 9}, random_state=5)
    np.testing.assert_array_equal(a[0], b[0])
    assert loaded.get_params()["epochs"] == 1
    assert loaded.history_ == sampler.history_


def test_integer_labels_and_float_images_round_trip(tmp_path, small_imbalanced):
    X, y = small_imbalanced
    Xf = (X / 255.0).astype(np.float64).reshape(len(X), -1)
    sampler = DeepSMOTE(random_state=1, **TINY).fit(Xf, y.astype(np.int32))
    sampler.save(tmp_path / "m")
    loaded = deepclsmote.load(tmp_path / "m")
    assert isinstance(loaded, DeepSMOTE)
    assert loaded.classes_.dtype == np.int32
    X1, y1 = sampler.sample({2: 4})
    X2, y2 = loaded.sample({2: 4})
    assert X2.dtype == np.float64 and X2.shape == (4, 64)
    np.testing.assert_array_equal(X1, X2)
    with pytest.raises(ModelFormatError, match="not a DeepCLSMOTE"):
        DeepCLSMOTE.load(tmp_path / "m")


def test_config_is_readable_json_with_latent_statistics(tmp_path, small_imbalanced):
    DeepCLSMOTE(random_state=0, **TINY).fit(*small_imbalanced).save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["estimator"] == "DeepCLSMOTE"
    assert config["library_version"] == deepclsmote.__version__
    assert [s["count"] for s in config["latent_stats"]] == [30, 20, 10]
    assert config["image_spec"]["layout"] == "NHW"
    assert "callback" not in config["params"]


class _Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_pickle_payloads_are_refused_without_running(tmp_path, small_imbalanced):
    DeepCLSMOTE(random_state=0, **TINY).fit(*small_imbalanced).save(tmp_path / "m")
    marker = tmp_path / "pwned"
    with open(tmp_path / "m" / "weights.pt", "wb") as fh:
        torch.save({"encoder": _Exploit(marker)}, fh)
    with pytest.raises(ModelFormatError, match="weights_only=True"):
        DeepCLSMOTE.load(tmp_path / "m")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: (d / "config.json").unlink(), "config.json is missing"),
        (lambda d: (d / "config.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "config.json").write_text('{"format": "other"}'), "does not describe"),
        (lambda d: (d / "weights.pt").write_bytes(b"garbage"), "could not be loaded"),
        (lambda d: torch.save({"encoder": {}}, d / "weights.pt"), "must hold a dict with"),
    ],
)
def test_broken_models_get_clear_errors(tmp_path, small_imbalanced, mutate, match):
    DeepCLSMOTE(random_state=0, **TINY).fit(*small_imbalanced).save(tmp_path / "m")
    mutate(tmp_path / "m")
    with pytest.raises(ModelFormatError, match=match):
        deepclsmote.load(tmp_path / "m")


def test_newer_format_is_refused(tmp_path, small_imbalanced):
    DeepCLSMOTE(random_state=0, **TINY).fit(*small_imbalanced).save(tmp_path / "m")
    cfg = tmp_path / "m" / "config.json"
    cfg.write_text(cfg.read_text().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(ModelFormatError, match="Upgrade deepclsmote"):
        deepclsmote.load(tmp_path / "m")


def test_unfitted_sampler_cannot_save_or_sample(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DeepCLSMOTE().save(tmp_path / "m")
    with pytest.raises(NotFittedError):
        DeepCLSMOTE().sample()
