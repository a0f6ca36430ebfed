"""The validation split and the tuning loop (with a cheap stand-in score)."""

import numpy as np
import pytest

from deepclsmote.evaluation.tuning import tune_deepclsmote, validation_split


def test_validation_split_is_stratified_disjoint_and_keeps_two_per_class():
    y = np.repeat([0, 1, 2], [40, 7, 3])
    tr, va = validation_split(y, 0.25, random_state=1)
    assert set(tr).isdisjoint(va) and len(tr) + len(va) == len(y)
    assert np.bincount(y[va]).tolist() == [10, 2, 1]
    assert np.bincount(y[tr]).min() >= 2
    again = validation_split(y, 0.25, random_state=1)
    assert np.array_equal(again[1], va)


@pytest.mark.parametrize(("labels", "fraction", "match"), [
    (np.repeat([0, 1], [5, 2]), 0.25, "3\\+ images per class"),
    (np.repeat([0, 1], [5, 5]), 1.0, "strictly between 0 and 1"),
    (np.zeros((2, 3)), 0.25, "1-D"),
])
def test_validation_split_refuses_what_cannot_be_split(labels, fraction, match):
    with pytest.raises(ValueError, match=match):
        validation_split(labels, fraction, random_state=0)


def test_tuning_keeps_validation_images_out_of_training_and_picks_the_best():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (60, 8, 8), dtype=np.uint8)
    y = np.repeat([0, 1], [45, 15])
    X[:, 0, 0] = np.arange(60)  # a pixel that names each image
    seen = []

    def score(X_res, y_res, X_val, y_val):
        originals = X_res[: len(y) - len(y_val)]  # the real images come first
        seen.append((set(originals[:, 0, 0].tolist()), set(X_val[:, 0, 0].tolist())))
        return 0.5 if len(seen) != 4 else 0.9  # the 4th trial: w=0.02, residual

    choice, trials = tune_deepclsmote(
        X, y, sampler_params={"epochs": 1, "dim_h": 4, "n_z": 4, "device": "cpu"},
        score=score, random_state=0)
    assert choice == {"w_compact": 0.02, "w_separation": 0.02, "decoding": "residual"}
    assert [t["val_acsa"] for t in trials] == [0.5, 0.5, 0.5, 0.9, 0.5, 0.5]
    for train_ids, val_ids in seen:
        assert len(val_ids) == 15 and not (train_ids & val_ids)
