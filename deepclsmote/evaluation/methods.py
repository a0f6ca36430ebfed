"""The oversampling methods an experiment compares, behind one function.

A method is ``none``, ``ros`` (random oversampling), ``smote`` (SMOTE in
pixel space) or a recipe name (:mod:`deepclsmote.recipes`). Each takes the
training images of one fold (uint8, as the dataset loaders return them) and
returns the set the classifier trains on. None of them ever sees test images.

How far the oversamplers grow the classes is one setting of the experiment,
``grow``, the same for every method: 1 balances every class up to the
largest; 2 grows every class, the largest included, to twice the largest.
"""

from __future__ import annotations

import math

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler

from ..recipes import RECIPES, make_sampler

#: Method name -> what it is, for reports, menus and the API schema.
METHODS: dict[str, str] = {
    "none": "no oversampling",
    "ros": "random oversampling (imbalanced-learn): real images repeated",
    "smote": "SMOTE in pixel space (imbalanced-learn)",
    **{name: recipe.description for name, recipe in RECIPES.items()},
}

#: What ``deepclsmote evaluate``, the service's evaluate job and the dashboard run
#: unless told otherwise.
DEFAULT_METHODS = ("none", "ros", "recommended", "deepclsmote-paper", "deepsmote-paper")

#: Names of earlier versions: what each was, and the method it is now where one
#: is the same. Reports that use them still display and combine (a renamed
#: method pools with its new name; the others only with reports that ran them).
LEGACY_METHODS: dict[str, tuple[str | None, str]] = {
    "deepsmote": ("deepsmote-paper", "DeepSMOTE as published"),
    "deepclsmote": ("deepclsmote-paper", "DeepCLSMOTE as published"),
    "deepclsmote_transfer_wide": ("recommended", "DeepCLSMOTE, residual decoding, transfer "
                                                 "steps up to 1.5 times (the recommended "
                                                 "recipe)"),
    "none_steps": (None, "no oversampling, as many classifier steps as a balanced set gets"),
    "ros_x2": (None, "random oversampling, every class to twice the largest"),
    "deepclsmote_residual": (None, "DeepCLSMOTE, residual decoding"),
    "deepclsmote_transfer": (None, "DeepCLSMOTE, residual decoding, transfer steps"),
    "deepclsmote_transfer_wide_x2": (None, "the recommended recipe, every class to twice the "
                                           "largest (now: grow=2)"),
    "deepclsmote_transfer_wide_x2_fg": (None, "the recommended recipe with "
                                              "foreground_margin=2, every class to twice the "
                                              "largest"),
    "deepclsmote_transfer_wide_x2_fg_shift": (None, "the same with train_shift=2"),
    "deepclsmote_transfer_wide_plus_ros": (None, "random oversampling to balance, plus as "
                                                 "many generated images per class as the "
                                                 "largest class has"),
    "deepclsmote_no_cl": (None, "DeepCLSMOTE without the class-latent term"),
    "deepclsmote_paper_penalty": (None, "DeepCLSMOTE with the paper's reading of the penalty"),
    "deepclsmote_tuned": (None, "DeepCLSMOTE, weights and decoding chosen on a validation "
                                "split"),
}


def describe_method(name: str) -> str:
    """What a method (or a method name of an earlier version) is, for a report."""
    if name in METHODS:
        return METHODS[name]
    return LEGACY_METHODS.get(name, (None, name))[1]


def check_methods(methods) -> list[str]:
    """The method names, or a ValueError naming the unknown ones (and what became of them)."""
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        renamed = [f"{m} is now {LEGACY_METHODS[m][0]}" for m in unknown
                   if LEGACY_METHODS.get(m, (None,))[0]]
        hint = f" ({'; '.join(renamed)})" if renamed else ""
        if any(m.endswith(("_x2", "_x2_fg", "_x2_fg_shift")) for m in unknown):
            hint += " (every class to twice the largest is now grow=2, for every method)"
        raise ValueError(f"unknown method(s) {unknown or methods}{hint}; choose from "
                         f"{list(METHODS)}.")
    return methods


def check_grow(grow) -> float:
    """``grow`` as a float in [1, 10], or a ValueError saying what it means."""
    try:
        value = float(grow)
    except (TypeError, ValueError):
        value = math.nan
    if not 1 <= value <= 10:
        raise ValueError(f"grow is how far oversampling grows every class, as a multiple of "
                         f"the largest class: 1 (balance) to 10; got {grow!r}.")
    return value


def grown_counts(y, grow: float) -> dict | str:
    """The ``sampling_strategy`` of ``grow``: ``"auto"`` at 1, else every class, the largest
    included, to ``ceil(grow * largest)``.

    Random oversampling can only repeat images; a generator adds new ones to
    every class, so it may help beyond balance. The same target for every
    method keeps the comparison fair: as many images and classifier steps.

    Examples
    --------
    >>> grown_counts([0, 0, 0, 1, 2, 2], 2)
    {0: 6, 1: 6, 2: 6}
    >>> grown_counts([0, 0, 1], 1)
    'auto'
    """
    if grow == 1:
        return "auto"
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    target = math.ceil(grow * int(counts.max()))
    return {c: target for c in classes.tolist()}


def oversample(method: str, X: np.ndarray, y: np.ndarray, *, sampler_params: dict,
               random_state: int, grow: float = 1.0):
    """The training set of ``method``: ``(X, y, fitted deep sampler or None)``."""
    if method == "none":
        return X, y, None
    strategy = grown_counts(y, grow)
    if method in ("ros", "smote"):
        smallest = int(np.bincount(y)[np.bincount(y) > 0].min())
        sampler = (SMOTE(k_neighbors=max(1, min(5, smallest - 1)), sampling_strategy=strategy,
                         random_state=random_state) if method == "smote"
                   else RandomOverSampler(sampling_strategy=strategy,
                                          random_state=random_state))
        flat, y_res = sampler.fit_resample(X.reshape(len(X), -1), y)
        return flat.reshape(-1, *X.shape[1:]).astype(X.dtype), y_res, None
    deep = make_sampler(method, **{**sampler_params, "random_state": random_state,
                                   "sampling_strategy": strategy})
    X_res, y_res = deep.fit_resample(X, y)
    return X_res, y_res, deep
