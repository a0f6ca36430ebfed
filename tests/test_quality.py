"""The quality measures on constructed cases, and drawing without near-copies."""

import doctest

import numpy as np
import pytest

from deepclsmote import make_sampler, quality
from deepclsmote.datasets import load_digits, load_digits_imbalanced
from deepclsmote.quality import (
    FidelityClassifier,
    fidelity_classifier,
    near_copies,
    quality_report,
    reference,
    sample_without_near_copies,
)


def test_the_module_examples_run():
    opts = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    assert doctest.testmod(quality, optionflags=opts).failed == 0


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.images, d.labels


@pytest.fixture(scope="module")
def classifier(digits):
    X, y = digits
    return fidelity_classifier(X, y, steps=300, random_state=0)


def test_exact_copies_are_flagged_every_one(digits):
    X, y = digits
    pick = np.flatnonzero(y < 3)[::7]
    report, near, nearest = quality_report(X, y, X[pick], y[pick])
    assert near.all() and report["overall"]["near_copy_share"] == 1.0
    assert report["overall"]["copies_of_real"] == len(pick)
    assert (nearest == pick).all()      # each copy's nearest real image is its original
    assert report["rule"].startswith("a synthetic image is a near-copy when")


def test_images_far_from_the_real_ones_are_not_near_copies(digits):
    X, y = digits
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (60, 8, 8)).astype(np.uint8)
    report, near, _ = quality_report(X, y, noise, np.repeat([0, 1, 2], 20))
    assert not near.any() and report["overall"]["copies_of_real"] == 0
    row = report["classes"][0]
    # their nearest real image is further than real images are from each other
    assert row["novelty_pixels"]["synthetic"]["median"] > row["novelty_pixels"]["real"]["median"]


def test_images_of_another_class_lower_fidelity_against_the_real_images_own(digits, classifier):
    X, y = digits
    ones = np.flatnonzero(y == 1)[:40]
    zeros = np.flatnonzero(y == 0)[:40]
    # forty images of "1" labelled 0: the classifier calls them 1, so fidelity of 0 is low
    wrong, _, _ = quality_report(X, y, X[ones], np.zeros(40, int), classifier=classifier)
    right, _, _ = quality_report(X, y, X[zeros], np.zeros(40, int), classifier=classifier)
    w = next(c for c in wrong["classes"] if c["class"] == 0)
    r = next(c for c in right["classes"] if c["class"] == 0)
    assert w["fidelity"] < 0.2 < 0.8 < r["fidelity"]
    assert r["real_recall"] == w["real_recall"] > 0.8       # the classifier's own reference
    assert wrong["overall"]["fidelity"] == w["fidelity"]


def test_fidelity_is_read_on_a_sample_of_each_class_and_near_copies_on_every_image(
        digits, classifier):
    X, y = digits
    ones, zeros = np.flatnonzero(y == 1)[:150], np.flatnonzero(y == 0)[:30]
    # 150 images of "1": the first 100 labelled 1, the last 50 labelled 2 (wrong)
    syn = np.concatenate([X[ones], X[zeros]])
    labels = np.concatenate([np.ones(100, int), np.full(50, 2), np.zeros(30, int)])
    report, near, _ = quality_report(X, y, syn, labels, classifier=classifier, max_measured=20)
    rows = {r["class"]: r for r in report["classes"]}
    assert [rows[c]["measured_synthetic"] for c in (0, 1, 2)] == [20, 20, 20]
    assert report["overall"]["fidelity_measured_on"] == 60
    assert rows[1]["fidelity"] > 0.8 and rows[2]["fidelity"] < 0.2
    # near-copies are checked for every image, not a sample: each real copy is one
    assert near[:100].all() and near[150:].all() and len(near) == 180
    assert report["overall"]["near_copies"] == int(near.sum()) >= 130
    assert "of the 60 checked are classified as their class" in quality.summary_text(
        report["overall"])
    # the overall figure weighs each class by its images, not by its sample
    expected = sum(rows[c]["fidelity"] * n for c, n in ((0, 30), (1, 100), (2, 50))) / 180
    assert report["overall"]["fidelity"] == pytest.approx(expected)


def test_duplicates_among_synthetic_images_are_counted(digits):
    X, y = digits
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (10, 8, 8)).astype(np.uint8)
    syn = np.concatenate([noise, noise[:3], noise[:1]])     # 4 repeats of earlier images
    report, _, _ = quality_report(X, y, syn, np.zeros(len(syn), int))
    assert report["overall"]["exact_duplicates"] == 4
    row = report["classes"][0]
    assert row["diversity"]["ratio"] > 0 and row["diversity"]["real_spread"] > 0


def test_the_fidelity_classifier_round_trips(tmp_path, digits, classifier):
    X, _ = digits
    classifier.save(tmp_path / "c.pt")
    loaded = FidelityClassifier.load(tmp_path / "c.pt")
    assert loaded.held_back_recall == classifier.held_back_recall
    np.testing.assert_array_equal(loaded.predict(X[:50]), classifier.predict(X[:50]))


@pytest.fixture(scope="module")
def wide_sampler():
    """Transfer steps taken up to 10 times: many new images are near-copies, not all."""
    d = load_digits_imbalanced()
    return make_sampler("recommended", epochs=30, dim_h=4, n_z=8, step_scale=10,
                        random_state=0, device="cpu").fit(d.images, d.labels)


def test_drawing_without_near_copies_replaces_exactly_those_flagged(wide_sampler):
    X_real, y_real = wide_sampler.training_data()
    ref = reference(X_real, y_real)
    X, y = wide_sampler.sample({0: 40}, random_state=5)
    flags, _, _ = near_copies(ref, X_real, y_real, X, y)
    assert 0 < flags.sum() < 40         # a mix, so some are dropped and drawn again
    X2, y2 = sample_without_near_copies(wide_sampler, {0: 40}, random_state=5, ref=ref)
    assert len(X2) == 40 and (y2 == 0).all()
    assert not near_copies(ref, X_real, y_real, X2, y2)[0].any()
    # reproducible from the seed
    X3, _ = sample_without_near_copies(wide_sampler, {0: 40}, random_state=5, ref=ref)
    np.testing.assert_array_equal(X2, X3)


def test_drawing_without_near_copies_stops_with_a_clear_error(wide_sampler):
    close = make_sampler("recommended", epochs=3, dim_h=4, n_z=8, random_state=0,
                         device="cpu").fit(*wide_sampler.training_data())
    with pytest.raises(ValueError, match=r"after 3 draws, \d+ images are still near-copies of "
                                         r"real ones .*near_copies 'flag'"):
        sample_without_near_copies(close, {9: 20}, random_state=0, max_rounds=3)


def test_training_data_is_what_the_model_learned_from():
    d = load_digits_imbalanced()
    sampler = make_sampler("deepsmote-paper", epochs=1, dim_h=4, n_z=8,
                           device="cpu").fit(d.images, d.labels)
    X, y = sampler.training_data()
    np.testing.assert_array_equal(X, d.images)
    np.testing.assert_array_equal(y, d.labels)
