"""On real MNIST: balanced output, recognisable digits, and a class-latent term
that does what it is for (tighter, better separated classes in the latent space,
on the training images and on held-out ones)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score

from deepclsmote import DeepCLSMOTE, DeepSMOTE
from deepclsmote.evaluation.imbalance import MNIST_TEST_COUNTS as COUNTS

BUDGET = {"epochs": 15, "dim_h": 16, "n_z": 32, "batch_size": 64, "device": "cpu",
          "random_state": 0}


@pytest.fixture(scope="module")
def split(mnist):
    X, y = mnist
    rng = np.random.default_rng(0)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), n, replace=False) for c, n in enumerate(COUNTS)]
    )
    held_out = rng.permutation(np.setdiff1d(np.arange(len(y)), train))
    return X, y, train, held_out


@pytest.fixture(scope="module")
def fitted(split):
    X, y, train, _ = split
    out = {}
    for name, cls in [("deepsmote", DeepSMOTE), ("deepclsmote", DeepCLSMOTE)]:
        sampler = cls(**BUDGET)
        out[name] = (sampler, *sampler.fit_resample(X[train], y[train]))
    return out


@pytest.fixture(scope="module")
def judge(split):
    """A classifier trained on real held-out digits, to read the synthetic ones."""
    X, y, _, held_out = split
    fit_idx = held_out[:4000]
    return LogisticRegression(max_iter=300).fit(X[fit_idx].reshape(-1, 784) / 255.0, y[fit_idx])


@pytest.mark.slow
def test_mnist_is_balanced_with_recognisable_digits(split, fitted, judge):
    _, _, train, _ = split
    sampler, X_res, y_res = fitted["deepclsmote"]
    assert np.bincount(y_res).tolist() == [800] * 10
    X_syn, y_syn = X_res[len(train):], y_res[len(train):]
    assert X_syn.dtype == np.uint8 and X_syn.shape[1:] == (28, 28)
    acc = judge.score(X_syn.reshape(-1, 784) / 255.0, y_syn)
    assert acc >= 0.8, f"only {acc:.2f} of synthetic digits read as their class"
    rare = [np.mean(judge.predict(X_syn[y_syn == c].reshape(-1, 784) / 255.0) == c)
            for c in (7, 8, 9)]
    assert min(rare) >= 0.6, f"rare-class synthetic digits read correctly: {rare}"


@pytest.mark.slow
def test_class_latent_term_raises_silhouette_on_train_and_held_out(split, fitted):
    X, y, train, held_out = split
    test_idx = held_out[4000:6000]
    scores = {}
    for name, (sampler, _, _) in fitted.items():
        scores[name] = (
            silhouette_score(sampler.encode(X[train]), y[train]),
            silhouette_score(sampler.encode(X[test_idx]), y[test_idx]),
        )
    (ds_train, ds_test), (cl_train, cl_test) = scores["deepsmote"], scores["deepclsmote"]
    print(f"silhouette train {ds_train:.3f} -> {cl_train:.3f}, held-out {ds_test:.3f} -> "
          f"{cl_test:.3f}")
    assert cl_train > ds_train + 0.1
    assert cl_test > ds_test + 0.03
