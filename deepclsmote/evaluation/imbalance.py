"""Imbalanced training sets and their test sets, drawn reproducibly from a labelled pool.

Class profiles are lists of image counts indexed by class label (``counts[c]``
images of class ``c``). Splits return sorted int64 index arrays into the pool's
labels, so they apply to an :class:`~deepclsmote.datasets.ImageDataset`'s
``images`` and ``labels`` alike.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .._validation import resolve_seed

#: The training profiles of the DeepSMOTE paper (Dablain et al., 2022), majority first.
PAPER_COUNTS: dict[str, list[int]] = {
    "mnist": [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40],
    "fashion-mnist": [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40],
    "cifar10": [4500, 2000, 1000, 800, 600, 500, 400, 250, 150, 80],
    "svhn": [4500, 2000, 1000, 800, 600, 500, 400, 250, 150, 80],
}
#: DeepSMOTE's MNIST counts divided by 5, to fit the 10,000-image MNIST test set
#: (the calibration split of the issues, the benchmarks and the MNIST tests).
MNIST_TEST_COUNTS: list[int] = [c // 5 for c in PAPER_COUNTS["mnist"]]

TEST_MODES = ("balanced", "imbalanced", "rest")
_EPS = 1e-9  # absorbs float error in ``count * factor`` before flooring


def geometric_counts(n_max: int, n_classes: int, ratio: float) -> list[int]:
    """Counts falling geometrically from ``n_max`` to ``n_max / ratio``.

    Class ``i`` gets ``round(n_max * ratio ** (-i / (n_classes - 1)))`` images
    (at least 1), so the first class has ``n_max`` and the last about
    ``n_max / ratio``: ``ratio`` is the imbalance ratio of the profile.

    Examples
    --------
    >>> geometric_counts(1000, 4, 1000)
    [1000, 100, 10, 1]
    >>> geometric_counts(500, 3, 5)
    [500, 224, 100]
    """
    if not isinstance(n_max, numbers.Integral) or n_max < 1:
        raise ValueError(f"n_max must be a positive int; got {n_max!r}.")
    if not isinstance(n_classes, numbers.Integral) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int; got {n_classes!r}.")
    if not ratio >= 1:
        raise ValueError(f"ratio must be at least 1; got {ratio!r}.")
    if n_classes == 1:
        return [n_max]
    steps = np.arange(n_classes) / (n_classes - 1)
    return [max(1, round(n_max * ratio**-s)) for s in steps.tolist()]


def scale_to_fit(counts: Sequence[int], available: Sequence[int], *, reserve: int = 0,
                 names: list[str] | None = None) -> list[int]:
    """Scale a profile down by one factor so every class fits in what it has.

    The factor is the largest ``f <= 1`` with ``counts[c] * f + reserve <=
    available[c]`` for every class; each new count is ``floor(counts[c] * f)``
    (flooring keeps every class within its budget), then raised to at least 2
    so that each class can still be interpolated. A profile that already fits
    comes back unchanged; it is never scaled up.

    Parameters
    ----------
    counts : sequence of int
        The wanted training images per class.
    available : sequence of int
        Images each class has, in the same class order.
    reserve : int, default=0
        Images per class kept back for testing.
    names : list of str, optional
        Class names, for the message that refuses a class with too few images.

    Examples
    --------
    >>> scale_to_fit([4000, 2000, 40], [3000, 5000, 5000])
    [3000, 1500, 30]
    >>> scale_to_fit([4000, 2000, 40], [3000, 5000, 5000], reserve=1000)
    [2000, 1000, 20]
    """
    counts_arr = _check_counts(counts, "counts", minimum=1)
    avail = _check_counts(available, "available", minimum=0)
    if len(avail) != len(counts_arr):
        raise ValueError(
            f"counts and available must have one entry per class; got {len(counts_arr)} "
            f"and {len(avail)}."
        )
    if not isinstance(reserve, numbers.Integral) or reserve < 0:
        raise ValueError(f"reserve must be a non-negative int; got {reserve!r}.")
    budget = avail - reserve
    short = np.flatnonzero(budget < 2)
    if len(short):
        c = int(short[0])
        raise ValueError(
            f"class {_name(c, names)} has {avail[c]} images; {reserve} reserved for testing "
            f"leave fewer than the 2 training images each class needs."
        )
    factor = min(1.0, float(np.min(budget / counts_arr)))
    scaled = np.floor(counts_arr * factor + _EPS).astype(np.int64)
    return np.minimum(np.maximum(scaled, 2), budget).tolist()


def imbalanced_split(
    labels: np.ndarray,
    counts: Sequence[int],
    *,
    test: str = "balanced",
    test_per_class: int | None = None,
    random_state,
    classes: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw an imbalanced training set and a disjoint test set from labelled images.

    Training takes ``counts[c]`` images of class ``c`` at random, without
    replacement. The test set comes from the images left over:

    - ``"balanced"``: ``test_per_class`` images of every class, by default the
      largest number every class can give;
    - ``"imbalanced"``: test counts proportional to ``counts`` (the paper's
      imbalanced test set); ``test_per_class`` is then the test count of the
      largest class (others ``floor`` of their share, at least 1), by default
      the largest that every class can give;
    - ``"rest"``: every image left over.

    A class with ``counts[c] == 0`` takes part in neither set.

    Parameters
    ----------
    labels : array of int, shape (N,)
        Class indices ``0 .. len(counts) - 1`` of the pool.
    counts : sequence of int
        Training images per class.
    test : {"balanced", "imbalanced", "rest"}, default="balanced"
    test_per_class : int or None, default=None
    random_state : int, RandomState or None
        Seeds the draw; the same seed gives the same split.
    classes : sequence of str or None, default=None
        Class names, used only in error messages.

    Returns
    -------
    train_idx, test_idx : ndarray of int64
        Sorted, non-overlapping indices into ``labels``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.repeat([0, 1], 10)
    >>> train, test = imbalanced_split(labels, [6, 2], random_state=0)
    >>> np.bincount(labels[train]).tolist(), np.bincount(labels[test]).tolist()
    ([6, 2], [4, 4])
    """
    if test not in TEST_MODES:
        raise ValueError(f"test must be one of {list(TEST_MODES)}; got {test!r}.")
    if test_per_class is not None and (
        not isinstance(test_per_class, numbers.Integral) or test_per_class < 1
    ):
        raise ValueError(f"test_per_class must be a positive int or None; got {test_per_class!r}.")
    if test == "rest" and test_per_class is not None:
        raise ValueError(f"test='rest' uses all that is left; got test_per_class={test_per_class}.")
    want = _check_counts(counts, "counts", minimum=0)
    labels = _check_labels(labels, len(want))
    names = [str(c) for c in classes] if classes is not None else None
    rng = np.random.default_rng(resolve_seed(random_state))
    train, rest = [], []
    for c in np.flatnonzero(want > 0).tolist():
        members = rng.permutation(np.flatnonzero(labels == c))
        if len(members) < want[c]:
            raise ValueError(
                f"class {_name(c, names)} has {len(members)} images; {want[c]} were asked "
                f"for training."
            )
        train.append(members[: want[c]])
        rest.append((c, members[want[c]:]))
    if not train:
        raise ValueError("counts asks for no training images at all.")
    n_test = _test_counts(test, test_per_class, want, rest, names)
    test_idx = [left[:n] for (_, left), n in zip(rest, n_test, strict=True)]
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test_idx))


#: At most this many images a class in :func:`rest_split` (a seeded draw).
REST_PER_CLASS = 1000


def rest_split(labels: np.ndarray, pool: np.ndarray, *, random_state) -> np.ndarray:
    """Sorted indices of every image outside ``pool``, up to :data:`REST_PER_CLASS` a class.

    Examples
    --------
    >>> import numpy as np
    >>> rest_split(np.array([0, 0, 0, 1, 1]), np.array([0, 3]), random_state=0).tolist()
    [1, 2, 4]
    """
    rng = np.random.default_rng(resolve_seed(random_state))
    outside = np.setdiff1d(np.arange(len(labels)), pool)
    keep = [rng.choice(members, REST_PER_CLASS, replace=False)
            if len(members) > REST_PER_CLASS else members
            for members in (outside[labels[outside] == c] for c in np.unique(labels[outside]))]
    return np.sort(np.concatenate(keep)) if keep else outside


def stratified_folds(
    labels: np.ndarray, n_splits: int = 5, *, random_state
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled stratified k-fold splits (scikit-learn's ``StratifiedKFold``).

    Every class needs at least ``n_splits`` members, so that each test fold
    holds every class.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.repeat([0, 1], 5)
    >>> folds = stratified_folds(labels, 5, random_state=0)
    >>> len(folds), np.bincount(labels[folds[0][1]]).tolist()
    (5, [1, 1])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D; got shape {labels.shape}.")
    if not isinstance(n_splits, int) or n_splits < 2:
        raise ValueError(f"n_splits must be an int of at least 2; got {n_splits!r}.")
    values, sizes = np.unique(labels, return_counts=True)
    small = sizes < n_splits
    if small.any():
        bad = {v.item(): int(s) for v, s in zip(values[small], sizes[small], strict=True)}
        raise ValueError(
            f"every class needs at least n_splits={n_splits} members; "
            f"{{class: members}} short of that: {bad}."
        )
    skf = StratifiedKFold(n_splits, shuffle=True, random_state=resolve_seed(random_state) % 2**32)
    return [(tr.astype(np.int64), te.astype(np.int64))
            for tr, te in skf.split(np.zeros(len(labels)), labels)]


def _test_counts(test, per_class, want, rest, names) -> list[int]:
    """Test images per used class, checked against what each has left."""
    left = np.array([len(r) for _, r in rest])
    used = np.array([c for c, _ in rest])
    if test == "rest":
        return left.tolist()
    if test == "balanced":
        n = np.full(len(used), per_class if per_class is not None else max(int(left.min()), 1))
    else:
        share = want[used] / want[used].max()
        top = per_class if per_class is not None else math.floor(float(np.min(left / share)) + _EPS)
        n = np.maximum(np.floor(top * share + _EPS).astype(np.int64), 1)
    short = np.flatnonzero(n > left)  # every count is at least 1 here
    if len(short):
        i = int(short[0])
        raise ValueError(
            f"class {_name(int(used[i]), names)} has {left[i]} images left after training; "
            f"a {test} test set needs {n[i]} of them."
        )
    return n.tolist()


def _check_counts(counts, what: str, *, minimum: int) -> np.ndarray:
    arr = np.asarray(counts)
    if arr.ndim != 1 or len(arr) == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must be a non-empty sequence of ints; got {counts!r:.80}.")
    if (arr < minimum).any():
        raise ValueError(f"{what} must all be at least {minimum}; got {arr.tolist()!r:.80}.")
    return arr.astype(np.int64)


def _check_labels(labels, n_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D int array; got {labels.dtype} {labels.shape}.")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1} (one count per class); got values from "
            f"{labels.min()} to {labels.max()}."
        )
    return labels


def _name(c: int, names: list[str] | None) -> str:
    return f"{c} ({names[c]!r})" if names is not None and c < len(names) else str(c)


__all__ = [
    "PAPER_COUNTS",
    "geometric_counts",
    "imbalanced_split",
    "scale_to_fit",
    "stratified_folds",
]
