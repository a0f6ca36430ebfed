import json
import warnings

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from deepclsmote import DeepCLSMOTE, DeepSMOTE
from deepclsmote.training import shift_batch

from .conftest import TINY


def _layouts(X):
    """The same uint8 images (N, 8, 8) in every supported layout and a few dtypes."""
    return {
        "NHW-uint8": X,
        "NHWC-uint8": X[..., None],
        "NCHW-uint8": X[:, None],
        "flat-uint8": X.reshape(len(X), -1),
        "NHW-float32-unit": (X / 255.0).astype(np.float32),
        "NHWC-float64-pm1": (X / 127.5 - 1.0)[..., None],
        "NHW-int64-0-16": (X // 16).astype(np.int64),
    }


@pytest.mark.parametrize("name", list(_layouts(np.zeros((1, 8, 8), np.uint8))))
def test_fit_resample_keeps_layout_dtype_and_range(small_imbalanced, name):
    X, y = small_imbalanced
    Xl = _layouts(X)[name]
    X_res, y_res = DeepCLSMOTE(random_state=0, **TINY).fit_resample(Xl, y)
    assert X_res.shape[1:] == Xl.shape[1:]
    assert X_res.dtype == Xl.dtype
    assert np.bincount(y_res).tolist() == [30, 30, 30]
    np.testing.assert_array_equal(X_res[: len(y)], Xl)  # originals first, untouched
    np.testing.assert_array_equal(y_res[: len(y)], y)
    lo, hi = float(Xl.min()), float(Xl.max())
    syn = X_res[len(y):]
    assert syn.min() >= min(lo, 0) and syn.max() <= max(hi, 1 if Xl.dtype.kind == "f" else hi)


def test_rgb_odd_size_round_trip():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (24, 35, 35, 3), dtype=np.uint8)
    y = np.array([0] * 16 + [1] * 8)
    sampler = DeepCLSMOTE(random_state=0, **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape == (32, 35, 35, 3) and X_res.dtype == np.uint8
    assert sampler.encode(X).shape == (24, 8)


def test_same_seed_same_output_and_different_seed_different_output(small_imbalanced):
    X, y = small_imbalanced
    a = DeepCLSMOTE(random_state=3, **TINY).fit_resample(X, y)[0]
    b = DeepCLSMOTE(random_state=3, **TINY).fit_resample(X, y)[0]
    c = DeepCLSMOTE(random_state=4, **TINY).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seeding_leaves_the_global_torch_rng_alone(small_imbalanced):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    DeepCLSMOTE(random_state=0, **TINY).fit_resample(*small_imbalanced)
    assert torch.equal(torch.rand(3), expected)


def test_zero_class_latent_weights_is_exactly_deepsmote(small_imbalanced):
    X, y = small_imbalanced
    params = {**TINY, "epochs": 3, "random_state": 7}
    cl = DeepCLSMOTE(w_compact=0.0, w_separation=0.0, **params).fit(X, y)
    ds = DeepSMOTE(**params).fit(X, y)
    assert cl.history_ == ds.history_
    for a, b in zip(cl.encoder_.state_dict().values(), ds.encoder_.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    for a, b in zip(cl.decoder_.state_dict().values(), ds.decoder_.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(cl.sample()[0], ds.sample()[0])
    # ...and the class-latent term, when on, changes training.
    on = DeepCLSMOTE(**params).fit(X, y)
    assert on.history_[-1]["compact"] > 0 and on.history_ != ds.history_


@pytest.mark.parametrize("penalty", ["code", "paper", None])
def test_penalty_readings_train(small_imbalanced, penalty):
    sampler = DeepSMOTE(penalty=penalty, random_state=0, **TINY).fit(*small_imbalanced)
    assert (sampler.history_[0]["penalty"] > 0) == (penalty is not None)


@pytest.mark.parametrize("decoding", ["direct", "residual"])
@pytest.mark.parametrize("centroids", ["ema", "batch"])
def test_options_combine(small_imbalanced, decoding, centroids):
    sampler = DeepCLSMOTE(decoding=decoding, centroids=centroids, balanced_batches=False,
                          random_state=0, **TINY)
    X_res, _ = sampler.fit_resample(*small_imbalanced)
    assert len(X_res) == 90


def test_transfer_interpolation_balances_and_keeps_its_seed(small_imbalanced):
    X, y = small_imbalanced
    params = {"decoding": "residual", "interpolation": "transfer", "random_state": 0, **TINY}
    X_res, y_res = DeepCLSMOTE(**params).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [30, 30, 30] and X_res.dtype == X.dtype
    again, _ = DeepCLSMOTE(**params).fit_resample(X, y)
    assert np.array_equal(X_res, again)
    # Direct decoding shows the codes differ (a 1-epoch residual rounds back to its base).
    direct = {**params, "decoding": "direct"}
    transfer, _ = DeepCLSMOTE(**direct).fit_resample(X, y)
    smote, _ = DeepCLSMOTE(**{**direct, "interpolation": "smote"}).fit_resample(X, y)
    assert not np.array_equal(transfer[len(X):], smote[len(X):])


def test_step_scale_changes_the_new_images_but_not_the_real_ones(tmp_path, small_imbalanced):
    X, y = small_imbalanced
    params = {"interpolation": "transfer", "random_state": 0, **TINY}
    one, _ = DeepCLSMOTE(**params).fit_resample(X, y)
    wide_sampler = DeepCLSMOTE(step_scale=1.5, **params)
    wide, _ = wide_sampler.fit_resample(X, y)
    assert np.array_equal(one[:len(X)], wide[:len(X)])
    assert not np.array_equal(one[len(X):], wide[len(X):])
    wide_sampler.save(tmp_path / "wide")   # the scale is part of the saved model
    again = DeepCLSMOTE.load(tmp_path / "wide", device="cpu")
    assert again.step_scale == 1.5
    assert np.array_equal(again.sample(random_state=0)[0], wide_sampler.sample(random_state=0)[0])


def test_foreground_margin_leaves_the_plain_background_of_new_images_alone(
        tmp_path, small_imbalanced):
    X, y = small_imbalanced
    X = np.pad(X, ((0, 0), (4, 4), (4, 4)))      # every image gains a black border of 4 pixels
    params = {"interpolation": "transfer", "decoding": "residual", "step_scale": 1.5,
              "random_state": 0, **TINY, "epochs": 5}   # a 1-epoch residual rounds to its base
    free, _ = DeepCLSMOTE(**params).fit_resample(X, y)
    sampler = DeepCLSMOTE(foreground_margin=1, **params)
    kept, _ = sampler.fit_resample(X, y)
    assert np.array_equal(free[:len(X)], kept[:len(X)])
    border = np.ones(X.shape[1:], dtype=bool)
    border[3:-3, 3:-3] = False                   # beyond 1 pixel of any image's content
    assert (kept[len(X):][:, border] == 0).all()
    assert (free[len(X):][:, border] != 0).any()
    sampler.save(tmp_path / "fg")                # the margin is part of the saved model
    again = DeepCLSMOTE.load(tmp_path / "fg", device="cpu")
    assert again.foreground_margin == 1
    assert np.array_equal(again.sample(random_state=0)[0], sampler.sample(random_state=0)[0])
    # without a margin the saved config has no such key: versions before it load the model
    sampler.set_params(foreground_margin=None).save(tmp_path / "plain")
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert "foreground_margin" not in config["params"] and "step_scale" in config["params"]
    assert DeepCLSMOTE.load(tmp_path / "plain", device="cpu").foreground_margin is None
    # checked again where images are drawn: set_params after fit, or a loaded config
    with pytest.raises(ValueError, match="needs decoding='residual'"):
        again.set_params(decoding="direct").sample(random_state=0)
    with pytest.raises(ValueError, match="'foreground_margin' parameter"):
        again.set_params(decoding="residual", foreground_margin=-1).sample(random_state=0)


def test_shift_batch_moves_each_image_whole_and_fills_the_border_dark():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 2, 9, 7) * 2 - 1
    out = shift_batch(x, 2, gen)
    assert out.shape == x.shape and shift_batch(x, 0, gen) is x
    moved = 0
    for img, src in zip(out, x, strict=True):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(img, _translated(src, dy, dx))]
        assert len(found) == 1, "every image is one shift of its source"
        moved += found[0] != (0, 0)
    assert moved > 40  # 24 of 25 shifts move the image


def _translated(src, dy, dx):
    out = torch.full_like(src, -1.0)
    h, w = src.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        src[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_train_shift_trains_on_shifted_images_and_is_saved(tmp_path, small_imbalanced):
    X, y = small_imbalanced
    params = {"random_state": 0, **TINY, "epochs": 2}
    plain = DeepCLSMOTE(**params).fit(X, y)
    shifted = DeepCLSMOTE(train_shift=1, **params).fit(X, y)
    assert plain.history_ != shifted.history_          # the training batches differ
    again = DeepCLSMOTE(train_shift=1, **params).fit(X, y)
    assert again.history_ == shifted.history_          # and follow random_state
    # the codes SMOTE draws from are those of the images as they are, not shifted
    np.testing.assert_allclose(shifted.codes_.cpu().numpy(), shifted.encode(X), atol=1e-5)
    shifted.save(tmp_path / "shifted")
    assert DeepCLSMOTE.load(tmp_path / "shifted", device="cpu").train_shift == 1
    plain.save(tmp_path / "plain")              # 0 is not written: earlier versions load it
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert "train_shift" not in config["params"]
    assert DeepCLSMOTE.load(tmp_path / "plain", device="cpu").train_shift == 0
    with pytest.raises(ValueError, match="'train_shift' parameter"):
        DeepSMOTE(train_shift=-1, **TINY).fit(X, y)


def test_transfer_grows_a_class_of_one_image_that_smote_cannot(small_imbalanced):
    X, y = small_imbalanced
    y1 = y.copy()
    y1[-1] = 5  # class 5: a single image
    with pytest.raises(ValueError, match="Class 5 has 1 image.*SMOTE needs at least 2"):
        DeepCLSMOTE(random_state=0, **TINY).fit_resample(X, y1)
    X_res, y_res = DeepCLSMOTE(interpolation="transfer", random_state=0,
                               **TINY).fit_resample(X, y1)
    assert (y_res == 5).sum() == 30 and len(X_res) == len(y_res)
    with pytest.raises(ValueError, match="a class with at least 2 images"):  # nothing to lend
        DeepCLSMOTE(interpolation="transfer", sampling_strategy={0: 3}, random_state=0,
                    **TINY).fit_resample(X[[0, 40]], np.array([0, 1]))


def test_callback_reports_every_epoch_and_can_stop(small_imbalanced):
    seen = []

    def callback(epoch, epochs, parts):
        seen.append((epoch, epochs, set(parts)))
        return epoch < 2

    sampler = DeepCLSMOTE(random_state=0, callback=callback, **{**TINY, "epochs": 5})
    X_res, _ = sampler.fit_resample(*small_imbalanced)
    assert [s[:2] for s in seen] == [(1, 5), (2, 5)]
    assert seen[0][2] == {"loss", "recon", "penalty", "compact", "separation"}
    assert sampler.n_epochs_ == 2 and len(X_res) == 90


def test_sample_and_fit_resample_agree(small_imbalanced):
    X, y = small_imbalanced
    sampler = DeepCLSMOTE(random_state=0, **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    X_new, y_new = sampler.sample()
    np.testing.assert_array_equal(X_new, X_res[len(y):])
    np.testing.assert_array_equal(y_new, y_res[len(y):])
    X7, y7 = sampler.sample({2: 7, 0: 0}, random_state=1)
    assert X7.shape == (7, 8, 8) and set(y7) == {2}
    with pytest.raises(ValueError, match="not one of the fitted classes"):
        sampler.sample({9: 3})
    with pytest.raises(ValueError, match="non-negative integer"):
        sampler.sample({1: -1})


def test_encode_gives_codes_and_checks_shape(small_imbalanced):
    X, y = small_imbalanced
    sampler = DeepCLSMOTE(random_state=0, **TINY).fit(X, y)
    assert sampler.encode(X[:5]).shape == (5, 8)
    with pytest.raises(ValueError, match="fitted on images of shape"):
        sampler.encode(X[:5, :7])


def test_scikit_learn_conventions(small_imbalanced):
    sampler = DeepCLSMOTE(epochs=3, random_state=1)
    assert sampler.get_params()["epochs"] == 3
    assert sampler.set_params(epochs=4) is sampler and sampler.epochs == 4
    twin = clone(sampler)
    assert twin.get_params() == sampler.get_params() and twin is not sampler
    fitted = DeepCLSMOTE(random_state=0, **TINY)
    assert fitted.fit(*small_imbalanced) is fitted
    assert hasattr(fitted, "codes_") and not hasattr(clone(fitted), "codes_")
    assert set(DeepSMOTE().get_params()) < set(DeepCLSMOTE().get_params())


def test_works_in_an_imblearn_pipeline(digits):
    X, y = digits
    keep = (y != 9) | (np.arange(len(y)) % 10 == 0)
    flat = X[keep].reshape(keep.sum(), -1) / 255.0
    pipe = Pipeline([
        ("oversample", DeepCLSMOTE(random_state=0, **TINY)),
        ("clf", LogisticRegression(max_iter=200)),
    ])
    pipe.fit(flat, y[keep])
    assert pipe.score(flat, y[keep]) > 0.8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, "'epochs' parameter"),
        ({"penalty": "both"}, "'penalty' parameter"),
        ({"decoding": "best"}, "'decoding' parameter"),
        ({"interpolation": "linear"}, "'interpolation' parameter"),
        ({"step_scale": 0}, "'step_scale' parameter"),
        ({"step_scale": "wide"}, "'step_scale' parameter"),
        ({"foreground_margin": -1}, "'foreground_margin' parameter"),
        ({"foreground_margin": 2}, "foreground_margin .* needs decoding='residual'"),
        ({"w_compact": -1.0}, "'w_compact' parameter"),
        ({"sampling_strategy": "most"}, "'sampling_strategy' parameter"),
    ],
)
def test_bad_parameters_are_refused_by_name(small_imbalanced, kwargs, match):
    with pytest.raises(ValueError, match=match):
        DeepCLSMOTE(**{**TINY, **kwargs}).fit_resample(*small_imbalanced)


def test_bad_data_gets_clear_errors(small_imbalanced):
    X, y = small_imbalanced
    s = DeepCLSMOTE(random_state=0, **TINY)
    with pytest.raises(ValueError, match="60 images but 59 labels"):
        s.fit_resample(X, y[:-1])
    with pytest.raises(ValueError, match="more than 1 class"):
        s.fit_resample(X, np.zeros(len(y), int))
    y1 = y.copy()
    y1[-1] = 5  # class 5 has a single image and must be oversampled
    with pytest.raises(ValueError, match="Class 5 has 1 image"):
        s.fit_resample(X, y1)
    with pytest.raises(ValueError, match="8x8 and 128x128"):
        s.fit_resample(X[:, :6, :6], y)
    bad = X.astype(np.float32)
    bad[3, 2, 2] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        s.fit_resample(bad, y)


def test_small_class_shrinks_k_with_a_warning(small_imbalanced):
    X, y = small_imbalanced
    keep = np.concatenate([np.flatnonzero(y != 2), np.flatnonzero(y == 2)[:3]])
    with pytest.warns(UserWarning, match="Class 2 has 3 images.*using k_neighbors=2"):
        DeepCLSMOTE(random_state=0, **TINY).fit_resample(X[keep], y[keep])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DeepCLSMOTE(random_state=0, k_neighbors=2, **TINY).fit_resample(X[keep], y[keep])


@pytest.mark.parametrize("shape", [(128, 128, 3), (100, 128)])
def test_images_up_to_128_pixels_round_trip(shape):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (12, *shape), dtype=np.uint8)
    y = np.array([0] * 8 + [1] * 4)
    sampler = DeepCLSMOTE(random_state=0, **{**TINY, "dim_h": 2, "n_z": 4})
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape == (16, *shape) and X_res.dtype == np.uint8
    assert np.bincount(y_res).tolist() == [8, 8]
    np.testing.assert_array_equal(X_res[:12], X)
    with pytest.raises(ValueError, match=r"between 8x8 and 128x128 pixels; got 129x128"):
        sampler.fit_resample(rng.integers(0, 256, (12, 129, 128), dtype=np.uint8), y)
