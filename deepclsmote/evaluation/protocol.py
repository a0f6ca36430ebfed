"""The two protocols: which images train, which test, and what a dataset needs for each.

``imbalance="dataset"`` answers "does oversampling help on *my* data?": the
data as it is (or drawn with ``counts``), split into stratified folds, each
fold's held-out part the test, as imbalanced as the data. The number of folds
is capped by the smallest class, so it runs whenever every class has 2 images
(3 when a method interpolates between a class's own images); per-class recall
is pooled over the folds, every image tested once per seed. When the profile
caps the pool, the images left outside are tested too (``"rest"``).

``imbalance="paper"`` is the papers' protocol for benchmark sets: an imbalanced
pool drawn with the papers' class counts (scaled to fit) and a balanced test
set drawn from the images left over, plus every image outside the pool.

:func:`plan` needs only the class counts, so a service can refuse a dataset
that cannot be evaluated before it queues the job; :func:`draw` makes a
seed's split from the labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..recipes import RECIPES, resolve
from . import imbalance
from .config import PROFILES, ExperimentConfig

#: A class at most this large keeps all its images when the profile caps the pool.
KEEP_WHOLE = 10


@dataclass(frozen=True)
class Plan:
    """What a protocol draws: images per class in the pool, and the folds used."""

    imbalance: str
    pool_counts: list[int]
    folds: int
    test_per_class: int | None = None


def interpolating(methods: Sequence[str]) -> list[str]:
    """The methods that make a class's new images from two of its own training images.

    Examples
    --------
    >>> interpolating(["none", "ros", "smote", "recommended", "deepsmote-paper"])
    ['smote', 'deepsmote-paper']
    """
    return [m for m in methods if m == "smote" or (
        m in RECIPES and resolve(m, complete=True)["interpolation"] == "smote")]


def minimum_images(methods: Sequence[str]) -> int:
    """Images every class needs under ``imbalance="dataset"``: one to train on and one to
    test, or two to train on when a method interpolates between a class's own images."""
    return 3 if interpolating(methods) else 2


def plan(cfg: ExperimentConfig, available: Sequence[int], *,
         names: Sequence[str] | None = None, colour: bool = False) -> Plan:
    """The pool and folds of ``cfg`` on a dataset of ``available`` images per class.

    Raises ``ValueError`` naming the class, the minimum and the parameter to
    change when the dataset cannot be evaluated so.

    Examples
    --------
    >>> cfg = ExperimentConfig("letters", methods=["none", "ros", "recommended"])
    >>> plan(cfg, [500, 250, 30, 6, 2])
    Plan(imbalance='dataset', pool_counts=[500, 250, 30, 6, 2], folds=2, test_per_class=None)
    """
    available = [int(n) for n in available]
    names = [str(n) for n in names] if names is not None else [str(c)
                                                                for c in range(len(available))]
    if len(available) < 2:
        raise ValueError(f"evaluating needs at least 2 classes with images; got "
                         f"{len(available)}.")
    if cfg.counts is not None and len(cfg.counts) != len(available):
        raise ValueError(f"{len(cfg.counts)} class counts for {len(available)} classes.")
    if cfg.imbalance == "paper":
        return _paper_plan(cfg, available, names, colour)
    return _dataset_plan(cfg, available, names)


def _dataset_plan(cfg: ExperimentConfig, available: list[int], names: list[str]) -> Plan:
    for c, n in enumerate(available):
        if n < 2:
            raise ValueError(
                f"class {names[c]!r} has {n} image{'s' if n != 1 else ''}; evaluating needs at "
                f"least 2 of every class (one to train on, one to test): add images of it, or "
                f"leave it out of the dataset.")
    counts = (available if cfg.counts is None
              else imbalance.scale_to_fit(cfg.counts, available, names=names))
    cap = PROFILES[cfg.profile]["pool"]
    if cap is not None and sum(counts) > cap:
        factor = cap / sum(counts)
        counts = [max(min(n, KEEP_WHOLE), math.floor(n * factor)) for n in counts]
    need = minimum_images(cfg.methods)
    for c, n in enumerate(counts):
        if n < need:
            methods = interpolating(cfg.methods)
            raise ValueError(
                f"class {names[c]!r} has {n} images; {', '.join(methods)} make a class's new "
                f"images from two of its own training images, so with one image of each class "
                f"held out for testing they need {need} of every class: leave "
                f"{'it' if len(methods) == 1 else 'them'} out of methods (none, ros and "
                f"recommended need 2).")
    return Plan("dataset", counts, folds=min(cfg.folds, min(counts)))


def _paper_plan(cfg: ExperimentConfig, available: list[int], names: list[str],
                colour: bool) -> Plan:
    k = len(available)
    if cfg.counts is not None:
        counts = list(cfg.counts)
    elif k == 10:
        counts = imbalance.PAPER_COUNTS["cifar10" if colour else "mnist"]
    else:
        counts = imbalance.geometric_counts(max(available), k, 100.0)
    reserve = cfg.test_per_class or max(2, min(available) // 10)
    hint = ("use imbalance 'dataset', which tests on held-out folds and needs "
            f"{minimum_images(cfg.methods)} images of a class, or lower test_per_class")
    for c, n in enumerate(available):
        if n < reserve + 2:
            raise ValueError(f"class {names[c]!r} has {n} images; the papers' protocol keeps "
                             f"{reserve} of each class for its balanced test set and trains on "
                             f"at least 2: {hint}.")
    counts = imbalance.scale_to_fit(counts, available, reserve=reserve, names=names)
    pool = PROFILES[cfg.profile]["pool"]
    if pool is not None and sum(counts) > pool:
        counts = imbalance.scale_to_fit(counts, [round(c * pool / sum(counts)) + 1
                                                 for c in counts])
    # Every fold trains on 3+ per class.
    counts = [max(c, cfg.folds + 2, 6) for c in counts]
    for c, (n, want) in enumerate(zip(available, counts, strict=True)):
        if want + reserve > n:
            raise ValueError(f"class {names[c]!r} has {n} images; the papers' protocol draws "
                             f"{want} of each class into its pool for {cfg.folds} folds and "
                             f"keeps {reserve} for its balanced test set: {hint}, or lower "
                             f"folds.")
    return Plan("paper", counts, folds=cfg.folds, test_per_class=cfg.test_per_class)


def draw(p: Plan, labels: np.ndarray, *, seed: int,
         names: Sequence[str] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One seed's pool (indices into ``labels``) and its test sets beside the folds.

    ``"balanced_test"`` (the papers' protocol only) and ``"rest"``, every
    image outside the pool up to :data:`~.imbalance.REST_PER_CLASS` a class,
    when it holds every class and is more than the balanced test set.
    """
    test = "balanced" if p.imbalance == "paper" else "rest"
    pool, held = imbalance.imbalanced_split(labels, p.pool_counts, test=test,
                                            test_per_class=p.test_per_class,
                                            random_state=seed, classes=names)
    splits = {"balanced_test": held} if p.imbalance == "paper" else {}
    rest = imbalance.rest_split(labels, pool, random_state=seed)
    every_class = len(np.unique(labels[rest])) == len(p.pool_counts)
    if every_class and len(rest) > sum(len(s) for s in splits.values()):
        splits["rest"] = rest
    return pool, splits


def class_warnings(counts: Sequence[int], names: Sequence[str]) -> list[str]:
    """What a dataset's small classes cannot be used for, one sentence each (upload manifests).

    Examples
    --------
    >>> class_warnings([40, 2, 1], ["a", "b", "c"])  # doctest: +NORMALIZE_WHITESPACE
    ["class 'b' has 2 images: too few to evaluate smote and the paper recipes, which need 3
    (two to interpolate between, one to test)", "class 'c' has 1 image: too few to evaluate
    (2 are needed: one to train on, one to test), and only the recommended recipe can
    oversample it (its steps come from other classes)"]
    """
    out = []
    for name, n in zip(names, counts, strict=True):
        if n == 1:
            out.append(f"class {name!r} has 1 image: too few to evaluate (2 are needed: one to "
                       f"train on, one to test), and only the recommended recipe can oversample "
                       f"it (its steps come from other classes)")
        elif n == 2:
            out.append(f"class {name!r} has 2 images: too few to evaluate smote and the paper "
                       f"recipes, which need 3 (two to interpolate between, one to test)")
    return out


__all__ = ["KEEP_WHOLE", "Plan", "class_warnings", "draw", "interpolating", "minimum_images",
           "plan"]
