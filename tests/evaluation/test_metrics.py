from __future__ import annotations

import json
import math

import numpy as np
import pytest

from deepclsmote.evaluation import classification_report, paired_wilcoxon, summarise

# Recalls 3/4, 1/2, 1; specificities (one-vs-rest) 4/4, 5/6, 5/6.
Y_TRUE = [0, 0, 0, 0, 1, 1, 2, 2]
Y_PRED = [0, 0, 0, 1, 1, 2, 2, 2]


def test_report_known_values():
    r = classification_report(Y_TRUE, Y_PRED, labels=[0, 1, 2])
    assert r["accuracy"] == pytest.approx(6 / 8)
    assert r["per_class_recall"] == pytest.approx([0.75, 0.5, 1.0])
    assert r["acsa"] == pytest.approx((0.75 + 0.5 + 1.0) / 3)
    # F1 per class: 2PR/(P+R) with precisions 1, 1/2, 2/3.
    f1 = [2 * 0.75 / 1.75, 0.5, 2 * (2 / 3) / (5 / 3)]
    assert r["macro_f1"] == pytest.approx(np.mean(f1))
    assert r["confusion_matrix"] == [[3, 1, 0], [0, 1, 1], [0, 0, 2]]
    assert r["labels"] == [0, 1, 2]
    json.dumps(r)  # plain Python values only
    assert all(type(r[k]) is float for k in ("accuracy", "acsa", "macro_f1", "gm_ovr_macro",
                                             "gm_multiclass"))


def test_both_geometric_means_by_hand():
    r = classification_report(Y_TRUE, Y_PRED, labels=[0, 1, 2])
    # average="multiclass": geometric mean of the per-class recalls.
    assert r["gm_multiclass"] == pytest.approx((0.75 * 0.5 * 1.0) ** (1 / 3))  # 0.7211
    # average="macro": sqrt(mean sensitivity * mean specificity) = sqrt(0.75 * 8/9).
    assert r["gm_ovr_macro"] == pytest.approx(math.sqrt(0.75 * (1 + 5 / 6 + 5 / 6) / 3))
    # ... which is not the mean of the per-class one-vs-rest G-means (0.808).
    per_class = [math.sqrt(0.75 * 1), math.sqrt(0.5 * 5 / 6), math.sqrt(1 * 5 / 6)]
    assert r["gm_ovr_macro"] != pytest.approx(np.mean(per_class), abs=1e-3)


def test_gm_multiclass_is_zero_when_a_class_is_missed():
    r = classification_report([0, 0, 1, 1, 2], [0, 0, 1, 1, 1], labels=[0, 1, 2])
    assert r["gm_multiclass"] == 0.0
    assert r["gm_ovr_macro"] > 0.0
    assert r["acsa"] == pytest.approx(2 / 3)


def test_report_label_order_and_errors():
    r = classification_report(Y_TRUE, Y_PRED, labels=[2, 1, 0])
    assert r["per_class_recall"] == pytest.approx([1.0, 0.5, 0.75])
    assert r["confusion_matrix"][0] == [2, 0, 0]
    with pytest.raises(ValueError, match=r"none for \[3\]"):
        classification_report(Y_TRUE, Y_PRED, labels=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"y_pred holds classes not in labels: \[7\]"):
        classification_report([0, 1], [0, 7], labels=[0, 1])
    with pytest.raises(ValueError, match="same length"):
        classification_report([0, 1], [0], labels=[0, 1])


def test_wilcoxon_known_p_value():
    a = [0.9, 0.8, 0.85, 0.7, 0.95]
    b = [0.8, 0.7, 0.8, 0.6, 0.9]
    r = paired_wilcoxon(a, b)
    assert r == {"statistic": 0.0, "p_value": pytest.approx(2 / 2**5), "n": 5,
                 "mean_diff": pytest.approx(0.08)}
    assert paired_wilcoxon(b, a)["mean_diff"] == pytest.approx(-0.08)


def test_wilcoxon_edge_cases():
    assert paired_wilcoxon([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]) == {
        "statistic": 0.0, "p_value": 1.0, "n": 3, "mean_diff": 0.0}
    assert paired_wilcoxon([0.5], [0.4]) == {
        "statistic": None, "p_value": None, "n": 1, "mean_diff": pytest.approx(0.1)}
    assert paired_wilcoxon([], [])["p_value"] is None
    # Zero differences are dropped: one non-zero pair left.
    assert paired_wilcoxon([0.5, 0.6, 0.7], [0.5, 0.6, 0.8])["p_value"] == 1.0
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\)"):
        paired_wilcoxon([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        paired_wilcoxon([1, np.nan], [1, 2])


def test_rounding_is_a_tie_not_a_loss():
    from deepclsmote.evaluation.findings import paired_difference

    # the same per-class recalls in another order: equal ACSA, apart from rounding
    recalls = [0.7, 0.1, 0.2, 0.9, 0.3, 0.6, 0.8]
    a, b = np.mean(recalls), np.mean(recalls[::-1])
    assert a != b
    assert paired_wilcoxon([a, 0.9, 0.8], [b, 0.8, 0.7])["p_value"] == pytest.approx(0.5)
    vs = paired_difference([a, 0.9, 0.8], [b, 0.8, 0.7])
    assert (vs["ahead"], vs["behind"]) == (2, 0)
    assert paired_wilcoxon([a, b], [b, a]) == {"statistic": 0.0, "p_value": 1.0, "n": 2,
                                               "mean_diff": 0.0}


def test_spread_over_seeds_averages_each_seeds_folds_first():
    from deepclsmote.evaluation.findings import paired_difference

    a, b = [0.9, 0.8, 0.7, 0.9], [0.8, 0.8, 0.7, 0.6]
    assert "over_seeds" not in paired_difference(a, b, seeds=[3, 3, 3, 3])
    vs = paired_difference(a, b, seeds=[3, 3, 5, 5])
    assert vs["std_diff"] == pytest.approx(np.std([0.1, 0, 0, 0.3], ddof=1))
    assert (vs["ahead"], vs["behind"]) == (2, 0)
    over = vs["over_seeds"]
    assert over["seeds"] == [3, 5]
    assert over["mean_diff_per_seed"] == pytest.approx([0.05, 0.15])
    assert over["mean_diff"] == pytest.approx(0.1)
    assert over["std_diff"] == pytest.approx(np.std([0.05, 0.15], ddof=1))
    assert (over["ahead"], over["behind"]) == (2, 0) and "over_seeds" not in over


def test_rarest_classes_take_every_class_tied_with_the_third():
    from deepclsmote.evaluation.metrics import rarest_classes

    assert rarest_classes([800, 400, 12, 8, 20, 70]) == [3, 2, 4]
    # Five classes of 7: picking three of them would be picking by class index.
    assert rarest_classes([78, 39, 19, 14, 9, 7, 7, 7, 7, 7]) == [5, 6, 7, 8, 9]
    assert rarest_classes([5, 9, 9, 9, 30]) == [0, 1, 2, 3]
    assert rarest_classes([4, 2]) == [1, 0]
    assert rarest_classes([3, 1, 2], k=1) == [1]
    with pytest.raises(ValueError, match="non-empty"):
        rarest_classes([])
    with pytest.raises(ValueError, match="k must be at least 1"):
        rarest_classes([1, 2], k=0)


def test_summarise():
    assert summarise([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "n": 3}
    assert summarise([0.7]) == {"mean": 0.7, "std": 0.0, "n": 1}
    s = summarise(np.array([0.25, 0.75]))
    assert type(s["mean"]) is float and type(s["n"]) is int
    with pytest.raises(ValueError, match="non-empty"):
        summarise([])
