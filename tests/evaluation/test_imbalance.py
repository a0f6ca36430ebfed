from __future__ import annotations

import numpy as np
import pytest

from deepclsmote.evaluation import (
    PAPER_COUNTS,
    geometric_counts,
    imbalanced_split,
    scale_to_fit,
    stratified_folds,
)


@pytest.fixture
def pool():
    """Labels of 10 classes with 100 images each, shuffled."""
    return np.random.default_rng(0).permutation(np.repeat(np.arange(10), 100))


def test_paper_counts_profiles():
    assert PAPER_COUNTS["mnist"] == PAPER_COUNTS["fashion-mnist"]
    assert PAPER_COUNTS["cifar10"] == PAPER_COUNTS["svhn"]
    assert PAPER_COUNTS["mnist"][0] / PAPER_COUNTS["mnist"][-1] == 100
    assert all(len(c) == 10 and c == sorted(c, reverse=True) for c in PAPER_COUNTS.values())


def test_geometric_counts():
    assert geometric_counts(1000, 4, 1000) == [1000, 100, 10, 1]
    assert geometric_counts(100, 10, 1) == [100] * 10
    assert geometric_counts(7, 1, 50) == [7]
    counts = geometric_counts(4000, 10, 100)
    assert counts[0] == 4000 and counts[-1] == 40
    assert counts == sorted(counts, reverse=True)
    assert geometric_counts(3, 5, 1000) == [3, 1, 1, 1, 1]  # each at least 1
    with pytest.raises(ValueError, match="ratio must be at least 1; got 0.5"):
        geometric_counts(100, 3, 0.5)
    with pytest.raises(ValueError, match="n_classes"):
        geometric_counts(100, 0, 2)


def test_scale_to_fit_keeps_shape_and_fits():
    counts = PAPER_COUNTS["mnist"]
    available = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # MNIST test set
    scaled = scale_to_fit(counts, available, reserve=100)
    assert all(s + 100 <= a for s, a in zip(scaled, available, strict=True))
    assert scaled[0] == 880  # the binding class is filled exactly
    assert scaled == sorted(scaled, reverse=True)
    assert scaled[-1] == 8  # 40 * 880 / 4000 = 8.8, floored
    assert scale_to_fit([10, 5], [100, 100]) == [10, 5]  # never scaled up


def test_scale_to_fit_floor_of_two_and_errors():
    assert scale_to_fit([1000, 10], [100, 100]) == [100, 2]
    with pytest.raises(ValueError, match="class 1 has 11 images; 10 reserved"):
        scale_to_fit([10, 10], [50, 11], reserve=10)
    with pytest.raises(ValueError, match="one entry per class; got 2 and 3"):
        scale_to_fit([10, 10], [50, 50, 50])


@pytest.mark.parametrize("test", ["balanced", "imbalanced", "rest"])
def test_split_draws_counts_without_overlap(pool, test):
    counts = geometric_counts(60, 10, 20)
    train, held = imbalanced_split(pool, counts, test=test, random_state=0)
    assert np.bincount(pool[train], minlength=10).tolist() == counts
    assert len(np.intersect1d(train, held)) == 0
    assert len(np.unique(train)) == len(train) and len(np.unique(held)) == len(held)
    assert train.dtype == held.dtype == np.int64
    test_counts = np.bincount(pool[held], minlength=10)
    if test == "balanced":
        assert test_counts.tolist() == [40] * 10  # the 60-image class has 40 left
    elif test == "rest":
        assert (test_counts + counts == 100).all()
    else:
        assert test_counts[0] == 40
        assert test_counts.tolist() == sorted(test_counts.tolist(), reverse=True)
        share = np.array(counts) / counts[0]
        assert np.allclose(test_counts, np.maximum(np.floor(40 * share), 1))


def test_split_test_per_class(pool):
    counts = [50] * 5 + [10] * 5
    _, held = imbalanced_split(pool, counts, test="balanced", test_per_class=30, random_state=1)
    assert np.bincount(pool[held]).tolist() == [30] * 10
    _, held = imbalanced_split(pool, counts, test="imbalanced", test_per_class=20, random_state=1)
    assert np.bincount(pool[held]).tolist() == [20] * 5 + [4] * 5


def test_split_is_seeded(pool):
    counts = [20] * 10
    a = imbalanced_split(pool, counts, random_state=3)
    b = imbalanced_split(pool, counts, random_state=3)
    c = imbalanced_split(pool, counts, random_state=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_split_class_with_zero_count_is_left_out(pool):
    counts = [0] + [10] * 9
    train, held = imbalanced_split(pool, counts, test="rest", random_state=0)
    assert 0 not in pool[train] and 0 not in pool[held]


def test_split_errors_name_class_asked_and_available(pool):
    counts = [10] * 10
    counts[3] = 101
    with pytest.raises(ValueError, match=r"class 3 \('three'\) has 100 images; 101 were asked"):
        imbalanced_split(pool, counts, random_state=0,
                         classes=["zero", "one", "two", "three"] + list("abcdef"))
    counts[3] = 100
    with pytest.raises(ValueError, match="class 3 has 0 images left after training"):
        imbalanced_split(pool, counts, random_state=0)
    with pytest.raises(ValueError, match="class 3 has 0 .* imbalanced test set needs 1 of"):
        imbalanced_split(pool, counts, test="imbalanced", random_state=0)
    with pytest.raises(ValueError, match="class 0 has 90 images left .* needs 95"):
        imbalanced_split(pool, [10] * 10, test_per_class=95, random_state=0)
    with pytest.raises(ValueError, match="test='rest' uses all that is left"):
        imbalanced_split(pool, [10] * 10, test="rest", test_per_class=5, random_state=0)
    with pytest.raises(ValueError, match="test must be one of"):
        imbalanced_split(pool, [10] * 10, test="all", random_state=0)
    with pytest.raises(ValueError, match=r"labels must lie in 0..8"):
        imbalanced_split(pool, [10] * 9, random_state=0)


def test_stratified_folds(pool):
    folds = stratified_folds(pool, 5, random_state=0)
    assert len(folds) == 5
    tested = np.concatenate([te for _, te in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(pool)))
    for tr, te in folds:
        assert len(np.intersect1d(tr, te)) == 0
        assert np.bincount(pool[te]).tolist() == [20] * 10
    again = stratified_folds(pool, 5, random_state=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))


def test_stratified_folds_small_class():
    labels = np.array([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match=r"at least n_splits=5 .*\{1: 3\}"):
        stratified_folds(labels, 5, random_state=0)
