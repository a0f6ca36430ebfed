"""The oversampling methods an experiment compares, behind one function.

Each method takes the training images of one fold (uint8, as the dataset
loaders return them) and returns the set the classifier trains on. None of
them ever sees test images.
"""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler

from ..sampler import DeepCLSMOTE, DeepSMOTE

#: Method name -> what it is, for reports.
METHODS = {
    "none": "no oversampling",
    "none_steps": "no oversampling, as many classifier steps as a balanced set gets",
    "ros": "random oversampling (imbalanced-learn)",
    "ros_x2": "random oversampling, every class to twice the largest (the control of the "
              "_x2 method: as many images and classifier steps)",
    "smote": "SMOTE in pixel space (imbalanced-learn)",
    "deepsmote": "DeepSMOTE",
    "deepclsmote": "DeepCLSMOTE",
    "deepclsmote_residual": "DeepCLSMOTE, residual decoding",
    "deepclsmote_transfer": "DeepCLSMOTE, residual decoding, neighbour steps of every class",
    "deepclsmote_transfer_wide": "DeepCLSMOTE, residual decoding, neighbour steps of every "
                                 "class taken up to 1.5 times (step_scale=1.5)",
    "deepclsmote_transfer_wide_x2": "deepclsmote_transfer_wide growing every class, the "
                                    "largest included, to twice the largest",
    "deepclsmote_transfer_wide_x2_fg": "deepclsmote_transfer_wide_x2 keeping residual "
                                       "decoding's change on the base image's foreground "
                                       "grown by 2 pixels (foreground_margin=2)",
    "deepclsmote_transfer_wide_x2_fg_shift": "deepclsmote_transfer_wide_x2_fg with an "
                                             "autoencoder trained on images shifted by up to "
                                             "2 pixels (train_shift=2)",
    "deepclsmote_transfer_wide_plus_ros": "random oversampling to balance, plus as many of "
                                          "deepclsmote_transfer_wide's new images per class as "
                                          "the largest class has (twice the largest in all)",
    "deepclsmote_no_cl": "DeepCLSMOTE without the class-latent term (w_compact = w_separation = 0)",
    "deepclsmote_paper_penalty": "DeepCLSMOTE with the paper's reading of the penalty",
    "deepclsmote_tuned": "DeepCLSMOTE, weights and decoding chosen on a validation split",
}

#: What ``deepclsmote evaluate`` and the service's evaluate job run unless told otherwise.
DEFAULT_METHODS = ("none", "ros", "smote", "deepsmote", "deepclsmote",
                   "deepclsmote_transfer_wide")


def twice_the_largest(y) -> dict:
    """A ``sampling_strategy``: every class, the largest included, grows to twice the largest.

    Random oversampling can only repeat images; a generator adds new ones to
    every class, so it may help beyond balance. ``ros_x2`` is the control
    that has the same number of images and classifier steps (the _x2 methods
    train the same epochs as every other method; at a balanced set's steps
    the generator's x2 set fell behind random oversampling on Fashion-MNIST,
    docs/results.md).

    Examples
    --------
    >>> twice_the_largest([0, 0, 0, 1, 2, 2])
    {0: 6, 1: 6, 2: 6}
    """
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    return {c: 2 * int(counts.max()) for c in classes.tolist()}


def plus_the_largest(y) -> dict:
    """A ``sampling_strategy``: every class gains as many new images as the largest class has.

    ``deepclsmote_transfer_wide_plus_ros`` adds these new images to a set
    balanced by random oversampling, so each class ends at twice the largest
    like the _x2 methods, but its real images are repeated as often as under
    random oversampling instead of being outnumbered by generated ones.

    Examples
    --------
    >>> plus_the_largest([0, 0, 0, 1, 2, 2])
    {0: 6, 1: 4, 2: 5}
    """
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    largest = int(counts.max())
    return {c: int(n) + largest for c, n in zip(classes.tolist(), counts.tolist(), strict=True)}


_WIDE = {"decoding": "residual", "interpolation": "transfer", "step_scale": 1.5}

_DEEP: dict[str, tuple[type[DeepSMOTE] | type[DeepCLSMOTE], dict]] = {
    "deepsmote": (DeepSMOTE, {}),
    "deepclsmote": (DeepCLSMOTE, {}),
    "deepclsmote_residual": (DeepCLSMOTE, {"decoding": "residual"}),
    "deepclsmote_transfer": (DeepCLSMOTE, {"decoding": "residual", "interpolation": "transfer"}),
    "deepclsmote_transfer_wide": (DeepCLSMOTE, _WIDE),
    "deepclsmote_transfer_wide_x2": (DeepCLSMOTE, {**_WIDE,
                                                   "sampling_strategy": twice_the_largest}),
    "deepclsmote_transfer_wide_x2_fg": (DeepCLSMOTE, {**_WIDE, "foreground_margin": 2,
                                                      "sampling_strategy": twice_the_largest}),
    "deepclsmote_transfer_wide_x2_fg_shift": (DeepCLSMOTE, {
        **_WIDE, "foreground_margin": 2, "train_shift": 2,
        "sampling_strategy": twice_the_largest}),
    "deepclsmote_transfer_wide_plus_ros": (DeepCLSMOTE, {**_WIDE,
                                                         "sampling_strategy": plus_the_largest}),
    "deepclsmote_no_cl": (DeepCLSMOTE, {"w_compact": 0.0, "w_separation": 0.0}),
    "deepclsmote_paper_penalty": (DeepCLSMOTE, {"penalty": "paper"}),
    # The experiment tunes first (evaluation.tuning) and passes the choice in sampler_params.
    "deepclsmote_tuned": (DeepCLSMOTE, {}),
}


def check_methods(methods) -> list[str]:
    """The method names, or a ValueError naming the unknown ones."""
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown method(s) {unknown or methods}; choose from {list(METHODS)}.")
    return methods


def oversample(method: str, X: np.ndarray, y: np.ndarray, *, sampler_params: dict,
               random_state: int):
    """The training set of ``method``: ``(X, y, fitted deep sampler or None)``."""
    if method in ("none", "none_steps"):
        return X, y, None
    if method in ("ros", "ros_x2", "smote"):
        k = max(1, min(5, int(np.bincount(y)[np.bincount(y) > 0].min()) - 1))
        sampler = (SMOTE(k_neighbors=k, random_state=random_state) if method == "smote"
                   else RandomOverSampler(random_state=random_state,
                                          sampling_strategy=twice_the_largest
                                          if method == "ros_x2" else "auto"))
        flat, y_res = sampler.fit_resample(X.reshape(len(X), -1), y)
        return flat.reshape(-1, *X.shape[1:]).astype(X.dtype), y_res, None
    cls, extra = _DEEP[method]
    deep = cls(random_state=random_state, **{**sampler_params, **extra})
    X_res, y_res = deep.fit_resample(X, y)
    if method.endswith("_plus_ros"):    # the real images balanced by repetition, then the new ones
        X_bal, y_bal, _ = oversample("ros", X, y, sampler_params=sampler_params,
                                     random_state=random_state)
        X_res = np.concatenate([X_bal, X_res[len(X):]])
        y_res = np.concatenate([y_bal, y_res[len(y):]])
    return X_res, y_res, deep
