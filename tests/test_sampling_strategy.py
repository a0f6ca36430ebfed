"""sampling_strategy has imbalanced-learn's semantics: compare with RandomOverSampler.

imbalanced-learn's own over-sampler is the reference: for any class counts and
any strategy, DeepCLSMOTE must produce the same class counts, or refuse with
the same kind of error.
"""

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imblearn.over_sampling import RandomOverSampler

from deepclsmote import DeepCLSMOTE

from .conftest import TINY

FAST = {**TINY, "dim_h": 2, "n_z": 4, "k_neighbors": 1}


def _data(counts: list[int], labels: list):
    rng = np.random.default_rng(len(counts))
    y = np.concatenate([[lab] * n for lab, n in zip(labels, counts, strict=True)])
    X = rng.integers(0, 256, (len(y), 8, 8), dtype=np.uint8)
    return X, y


def _reference(strategy, X, y):
    try:
        _, y_ref = RandomOverSampler(sampling_strategy=strategy).fit_resample(
            X.reshape(len(X), -1), y
        )
    except ValueError as exc:
        return type(exc)
    return Counter(y_ref.tolist())


@st.composite
def problems(draw):
    n_classes = draw(st.integers(2, 4))
    counts = draw(st.lists(st.integers(2, 12), min_size=n_classes, max_size=n_classes))
    string_labels = draw(st.booleans())
    labels = [f"c{i}" for i in range(n_classes)] if string_labels else list(range(n_classes))
    kind = draw(st.sampled_from(["str", "dict", "float", "callable"]))
    if kind == "str":
        strategy = draw(st.sampled_from(["auto", "minority", "not minority", "not majority",
                                         "all"]))
    elif kind == "float":
        strategy = draw(st.floats(0.05, 1.0))
    else:
        targets = {
            lab: draw(st.integers(max(0, n - 3), n + 10))
            for lab, n in zip(labels, counts, strict=True)
            if draw(st.booleans())
        }
        if draw(st.booleans()):
            targets["unknown"] = 5
        strategy = targets if kind == "dict" else (lambda y, t=targets: dict(t))
    return counts, labels, strategy


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_counts_match_imbalanced_learn(problem):
    counts, labels, strategy = problem
    X, y = _data(counts, labels)
    expected = _reference(strategy, X, y)
    if isinstance(expected, type):
        with pytest.raises(expected):
            DeepCLSMOTE(sampling_strategy=strategy, random_state=0, **FAST).fit_resample(X, y)
        return
    _, y_res = DeepCLSMOTE(sampling_strategy=strategy, random_state=0, **FAST).fit_resample(X, y)
    got = Counter(y_res.tolist())
    assert got == expected
    assert all(got[lab] >= n for lab, n in zip(labels, counts, strict=True))  # none shrinks


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from([0, 1, 2]), st.integers(0, 30), max_size=3))
def test_sample_gives_exactly_the_requested_counts(fitted_three_classes, request_counts):
    X_new, y_new = fitted_three_classes.sample(request_counts)
    assert len(X_new) == sum(request_counts.values())
    assert Counter(y_new.tolist()) == Counter({k: v for k, v in request_counts.items() if v})


@pytest.fixture(scope="module")
def fitted_three_classes():
    X, y = _data([10, 6, 3], [0, 1, 2])
    return DeepCLSMOTE(random_state=0, **FAST).fit(X, y)


def test_sample_with_a_strategy_balances_the_training_counts(fitted_three_classes):
    _, y_new = fitted_three_classes.sample("auto")
    assert Counter(y_new.tolist()) == {1: 4, 2: 7}
    _, y_min = fitted_three_classes.sample("minority")
    assert Counter(y_min.tolist()) == {2: 7}


def test_target_below_current_count_is_refused_like_imblearn(fitted_three_classes):
    X, y = _data([10, 6, 3], [0, 1, 2])
    with pytest.raises(ValueError, match="greater or equal to the original number"):
        DeepCLSMOTE(sampling_strategy={1: 2}, **FAST).fit_resample(X, y)
    with pytest.raises(ValueError, match="float only when the type of target is binary"):
        DeepCLSMOTE(sampling_strategy=0.5, **FAST).fit_resample(X, y)
