"""Scores of a classifier on imbalanced data, and paired comparisons across folds.

Every value comes back as a plain Python ``float``/``int``/``list`` so that
results can be written to JSON as they are.

The two geometric means
-----------------------
The literature uses two different "G-mean"s for more than two classes, and
imbalanced-learn's :func:`~imblearn.metrics.geometric_mean_score` implements
both:

- ``gm_ovr_macro`` (``average="macro"``), the one DeepSMOTE's tables report:
  per-class sensitivity (recall) and specificity are computed one-vs-rest,
  each is averaged over the classes, and the score is
  ``sqrt(mean(sensitivity) * mean(specificity))``. It is *not* the mean of
  the per-class ``sqrt(sensitivity_c * specificity_c)``.
- ``gm_multiclass`` (``average="multiclass"``): the geometric mean of the
  per-class recalls, ``(prod_c recall_c) ** (1 / K)``. One class never
  recognised makes it 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from imblearn.metrics import geometric_mean_score
from scipy import stats
from sklearn import metrics as skm


def classification_report(y_true, y_pred, *, labels: Sequence) -> dict:
    """Accuracy, ACSA, macro-F1, both G-means, per-class recall and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (N,)
        True and predicted labels; both must take values in ``labels``.
    labels : sequence
        Every class, in the order of ``per_class_recall`` and of the confusion
        matrix's rows (true class) and columns (predicted class). Each must
        occur in ``y_true``: a class without test images has no recall.

    Returns
    -------
    dict
        ``accuracy``; ``acsa``, the average class-specific accuracy (the mean
        per-class recall, scikit-learn's balanced accuracy); ``macro_f1``;
        ``gm_ovr_macro`` and ``gm_multiclass`` (see the module docstring);
        ``per_class_recall`` (list); ``confusion_matrix`` (list of lists of
        int); ``labels`` (list).

    Examples
    --------
    >>> r = classification_report([0, 0, 1, 1], [0, 1, 1, 1], labels=[0, 1])
    >>> r["accuracy"], r["acsa"], r["per_class_recall"]
    (0.75, 0.75, [0.5, 1.0])
    """
    y_true, y_pred, classes = _check_labels(y_true, y_pred, labels)
    recall = skm.recall_score(y_true, y_pred, labels=classes, average=None, zero_division=0.0)
    matrix = skm.confusion_matrix(y_true, y_pred, labels=classes)
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "acsa": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            skm.f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0.0)
        ),
        "gm_ovr_macro": float(geometric_mean_score(y_true, y_pred, labels=classes,
                                                   average="macro")),
        "gm_multiclass": float(geometric_mean_score(y_true, y_pred, labels=classes,
                                                    average="multiclass")),
        "per_class_recall": [float(r) for r in recall],
        "confusion_matrix": matrix.astype(int).tolist(),
        "labels": classes.tolist(),
    }


#: Paired differences smaller than this are ties. Two classifiers with the same
#: per-class hits can differ in ACSA by rounding alone (the recalls are summed in
#: another order); a real difference is at least 1 / (classes * test images).
TIE_TOLERANCE = 1e-9


def paired_differences(a, b) -> np.ndarray:
    """``a - b`` per pair, with differences within :data:`TIE_TOLERANCE` set to exactly 0.

    Examples
    --------
    >>> paired_differences([0.1 + 0.2, 0.5], [0.3, 0.4]).round(3).tolist()
    [0.0, 0.1]
    """
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    diff[np.abs(diff) < TIE_TOLERANCE] = 0.0
    return diff


def paired_wilcoxon(a, b) -> dict:
    """Wilcoxon signed-rank test of paired scores ``a`` and ``b`` (one pair per fold).

    Zero differences (ties, up to :data:`TIE_TOLERANCE`) are dropped before
    ranking (Wilcoxon's original convention, scipy's ``zero_method="wilcox"``),
    so the exact distribution is used for small samples. With five folds the
    smallest two-sided p-value is 0.0625.

    Returns
    -------
    dict
        ``statistic`` and ``p_value`` (two-sided) from
        :func:`scipy.stats.wilcoxon`, ``n`` (pairs given) and ``mean_diff``
        (mean of ``a - b``). When every difference is zero, ``statistic`` is
        0.0 and ``p_value`` 1.0. With fewer than 2 pairs there is no test:
        ``statistic`` and ``p_value`` are ``None``.

    Examples
    --------
    >>> r = paired_wilcoxon([0.9, 0.8, 0.85, 0.7, 0.95], [0.8, 0.7, 0.8, 0.6, 0.9])
    >>> r["p_value"], r["n"], round(r["mean_diff"], 3)
    (0.0625, 5, 0.08)
    """
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape:
        raise ValueError(
            f"a and b must be 1-D with one score per pair; got shapes {a_arr.shape} and "
            f"{b_arr.shape}."
        )
    if not (np.isfinite(a_arr).all() and np.isfinite(b_arr).all()):
        raise ValueError("a and b must be finite; got NaN or infinite scores.")
    n = len(a_arr)
    diff = paired_differences(a_arr, b_arr)
    result = {"statistic": None, "p_value": None, "n": n,
              "mean_diff": float(diff.mean()) if n else None}
    if n < 2:
        return result
    nonzero = diff[diff != 0]
    if len(nonzero) == 0:
        return {**result, "statistic": 0.0, "p_value": 1.0}
    test = stats.wilcoxon(nonzero)
    return {**result, "statistic": float(test.statistic), "p_value": float(test.pvalue)}


def summarise(values) -> dict:
    """Mean, sample standard deviation (``ddof=1``) and count of per-fold scores.

    The sample standard deviation estimates the spread across folds or seeds;
    with a single value it is 0.0.

    Examples
    --------
    >>> summarise([1.0, 2.0, 3.0])
    {'mean': 2.0, 'std': 1.0, 'n': 3}
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or len(arr) == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence; got shape {arr.shape}.")
    n = len(arr)
    std = float(arr.std(ddof=1)) if n > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std, "n": n}


def rarest_classes(counts, k: int = 3) -> list[int]:
    """Indices of the ``k`` classes with the fewest images, and of every class tied with them.

    Without the ties the pick among classes of equal count would fall to their
    order: on a pool such as ``[78, 39, 19, 14, 9, 7, 7, 7, 7, 7]`` "the three
    rarest" would be three of five equally rare classes chosen by index.

    Examples
    --------
    >>> rarest_classes([800, 400, 12, 8, 20])
    [3, 2, 4]
    >>> rarest_classes([78, 39, 19, 14, 9, 7, 7, 7, 7, 7])
    [5, 6, 7, 8, 9]
    """
    counts = np.asarray(counts)
    if counts.ndim != 1 or len(counts) == 0:
        raise ValueError(f"counts must be a non-empty 1-D sequence; got shape {counts.shape}.")
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}.")
    order = np.argsort(counts, kind="stable")
    cutoff = counts[order[min(k, len(counts)) - 1]]
    return [int(c) for c in order if counts[c] <= cutoff]


def _check_labels(y_true, y_pred, labels):
    y_true, y_pred, labels = np.asarray(y_true), np.asarray(y_pred), np.asarray(labels)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty 1-D arrays of the same length; got shapes "
            f"{y_true.shape} and {y_pred.shape}."
        )
    if labels.ndim != 1 or len(np.unique(labels)) != len(labels) or len(labels) < 2:
        raise ValueError(f"labels must list at least 2 distinct classes; got {labels.tolist()}.")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        unknown = np.setdiff1d(y, labels)
        if len(unknown):
            raise ValueError(f"{name} holds classes not in labels: {unknown.tolist()[:10]}.")
    missing = np.setdiff1d(labels, y_true)
    if len(missing):
        raise ValueError(
            f"every class in labels needs test samples in y_true; none for "
            f"{missing.tolist()[:10]}."
        )
    return y_true, y_pred, labels


__all__ = ["classification_report", "paired_wilcoxon", "summarise"]
