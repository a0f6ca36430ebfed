"""Resuming a killed ``fit`` from its training checkpoint (``checkpoint_path``)."""

import json
import logging

import numpy as np
import pytest
import torch
from sklearn.base import clone

from deepclsmote import DeepCLSMOTE, DeepSMOTE
from deepclsmote.checkpoint import load_training_state, save_training_state

RUN = {"dim_h": 4, "n_z": 4, "epochs": 6, "batch_size": 16, "device": "cpu", "random_state": 0}


class _Killed(Exception):
    """Stands in for the SIGKILL of a service's job."""


def _kill_at(epoch_to_die: int):
    def callback(epoch, epochs, parts):
        if epoch == epoch_to_die:
            raise _Killed

    return callback


def _assert_same_model(a, b):
    assert a.history_ == b.history_
    for net_a, net_b in [(a.encoder_, b.encoder_), (a.decoder_, b.decoder_)]:
        for (name, ta), tb in zip(net_a.state_dict().items(), net_b.state_dict().values(),
                                  strict=True):
            assert torch.equal(ta, tb), name
    np.testing.assert_array_equal(a.sample()[0], b.sample()[0])


@pytest.fixture(scope="module")
def data(digits):
    """60 digits images of three classes, 30/20/10."""
    X, y = digits
    idx = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in [(0, 30), (1, 20), (2, 10)]])
    return X[idx], y[idx]


@pytest.fixture(scope="module")
def reference(data):
    """The uninterrupted DeepSMOTE run, without a checkpoint."""
    return DeepSMOTE(**RUN).fit(*data)


@pytest.fixture
def warnings_(caplog):
    caplog.set_level(logging.WARNING, logger="deepclsmote")
    return caplog


@pytest.mark.parametrize("kind", ["DeepSMOTE", "DeepCLSMOTE-ema"])
def test_killed_fit_resumes_to_the_uninterrupted_result(tmp_path, data, reference, kind):
    X, y = data
    ckpt = tmp_path / "job" / "train.pt"
    if kind == "DeepSMOTE":
        make = DeepSMOTE
    else:
        def make(**kw):
            return DeepCLSMOTE(centroids="ema", **kw)

        reference = make(**RUN).fit(X, y)
    with pytest.raises(_Killed):
        make(**RUN, checkpoint_path=ckpt, checkpoint_every=3, callback=_kill_at(5)).fit(X, y)
    assert [p.name for p in ckpt.parent.iterdir()] == ["train.pt"]  # no temporary file left
    seen = []
    resumed = make(**RUN, checkpoint_path=str(ckpt), checkpoint_every=3,
                   callback=lambda epoch, epochs, parts: seen.append((epoch, epochs))).fit(X, y)
    assert resumed.resumed_from_epoch_ == 3 and reference.resumed_from_epoch_ == 0
    assert seen == [(4, 6), (5, 6), (6, 6)]
    assert resumed.n_epochs_ == 6
    _assert_same_model(resumed, reference)


def test_without_random_state_the_checkpoints_seed_is_taken(tmp_path, data):
    X, y = data
    run = {**RUN, "random_state": None, "checkpoint_path": tmp_path / "t.pt", "checkpoint_every": 2}
    killed = DeepCLSMOTE(**run, callback=_kill_at(3))
    with pytest.raises(_Killed):
        killed.fit(X, y)
    resumed = DeepCLSMOTE(**run).fit(X, y)
    assert resumed.resumed_from_epoch_ == 2 and resumed.seed_ == killed.seed_
    _assert_same_model(resumed, DeepCLSMOTE(**{**RUN, "random_state": killed.seed_}).fit(X, y))


@pytest.mark.parametrize("change", ["n_z", "data", "seed"])
def test_checkpoint_of_another_run_is_ignored_then_overwritten(
    tmp_path, data, reference, warnings_, change
):
    X, y = data
    ckpt = tmp_path / "t.pt"
    other, X_other = dict(RUN), X.copy()
    if change == "n_z":
        other["n_z"] = 6
    elif change == "seed":
        other["random_state"] = 1
    else:
        X_other[0, 0, 0] ^= 1
    DeepSMOTE(**other, checkpoint_path=ckpt, checkpoint_every=3).fit(X_other, y)
    fresh = DeepSMOTE(**RUN, checkpoint_path=ckpt, checkpoint_every=3).fit(X, y)
    assert fresh.resumed_from_epoch_ == 0
    expected = {"n_z": "autoencoder", "data": "data_sha256", "seed": "seed"}[change]
    assert f"belongs to another run ({expected} differ)" in warnings_.text
    _assert_same_model(fresh, reference)
    # The file now belongs to this run, and a later fit resumes from its last save.
    again = DeepSMOTE(**RUN, checkpoint_path=ckpt, checkpoint_every=3).fit(X, y)
    assert again.resumed_from_epoch_ == 6
    _assert_same_model(again, fresh)


def test_corrupt_checkpoint_is_ignored(tmp_path, data, warnings_):
    ckpt = tmp_path / "t.pt"
    ckpt.write_bytes(np.random.default_rng(0).bytes(512))
    fresh = DeepSMOTE(**RUN, checkpoint_path=ckpt, checkpoint_every=6).fit(*data)
    assert fresh.resumed_from_epoch_ == 0
    assert "could not be loaded as plain tensors" in warnings_.text
    fingerprint, snapshot = load_training_state(ckpt)  # replaced by a good one
    assert snapshot["epoch"] == 6 and fingerprint["autoencoder"]["n_z"] == 4


class _Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_pickle_payload_in_checkpoint_is_not_run(tmp_path, data, warnings_):
    ckpt, marker = tmp_path / "t.pt", tmp_path / "pwned"
    torch.save({"format": "deepclsmote-training-state", "snapshot": _Exploit(marker)}, ckpt)
    fresh = DeepSMOTE(**RUN, checkpoint_path=ckpt).fit(*data)
    assert fresh.resumed_from_epoch_ == 0 and "weights_only=True" in warnings_.text
    assert not marker.exists()


def test_snapshot_that_does_not_fit_is_ignored(tmp_path, data, reference, warnings_):
    X, y = data
    ckpt = tmp_path / "t.pt"
    DeepSMOTE(**RUN, checkpoint_path=ckpt, checkpoint_every=3).fit(X, y)
    fingerprint, snapshot = load_training_state(ckpt)
    snapshot["decoder"].popitem()  # the encoder fits, the decoder does not
    save_training_state(ckpt, fingerprint, snapshot)
    fresh = DeepSMOTE(**RUN, checkpoint_path=ckpt, checkpoint_every=3).fit(X, y)
    assert fresh.resumed_from_epoch_ == 0 and "does not fit this run" in warnings_.text
    _assert_same_model(fresh, reference)


def test_checkpoint_params_follow_sklearn_and_are_not_saved(tmp_path, data):
    sampler = DeepCLSMOTE(**RUN, checkpoint_path=tmp_path / "t.pt", checkpoint_every=2)
    assert sampler.get_params()["checkpoint_every"] == 2
    twin = clone(sampler)
    assert twin.get_params() == sampler.get_params()
    sampler.fit(*data).save(tmp_path / "m")
    params = json.loads((tmp_path / "m" / "config.json").read_text())["params"]
    assert "checkpoint_path" not in params and "checkpoint_every" not in params
    loaded = DeepCLSMOTE.load(tmp_path / "m", device="cpu")
    assert loaded.checkpoint_path is None and loaded.checkpoint_every == 5
    np.testing.assert_array_equal(loaded.sample()[0], sampler.sample()[0])


@pytest.mark.parametrize(
    "kwargs", [{"checkpoint_every": 0}, {"checkpoint_path": 3}], ids=["every", "path"]
)
def test_bad_checkpoint_params_are_refused_by_name(data, kwargs):
    with pytest.raises(ValueError, match=f"'{next(iter(kwargs))}' parameter"):
        DeepSMOTE(**{**RUN, **kwargs}).fit(*data)
