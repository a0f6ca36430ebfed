"""Choosing DeepCLSMOTE's hyperparameters on a validation split, never on test data.

The class-latent weights change the autoencoder, so each weight setting is one
training; the decoding (direct or residual) is chosen after training, so both
decodings of one autoencoder cost one training between them. Every setting is
scored by the caller's ``score`` function, which trains the evaluation's own
classifier on the oversampled inner-training part and returns its ACSA on the
validation part. The setting with the best score wins; ties go to the earlier
setting in the grid, so the defaults come first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validation import resolve_seed
from ..sampler import DeepCLSMOTE

#: The grid searched by default: the same weight for compactness and separation
#: (the first is DeepSMOTE's objective, the second the library's default), and
#: both decodings.
WEIGHTS: tuple[float, ...] = (0.0, 0.02, 0.1)
DECODINGS: tuple[str, ...] = ("direct", "residual")

Score = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]


def validation_split(labels, fraction: float = 0.25, *, random_state) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Stratified ``(train, validation)`` indices: every class keeps 2+ training images.

    Each class puts ``round(fraction * n)`` of its ``n`` images in the
    validation part, at least one and at most ``n - 2``.

    Examples
    --------
    >>> import numpy as np
    >>> tr, va = validation_split(np.repeat([0, 1], [8, 3]), 0.25, random_state=0)
    >>> np.bincount(np.repeat([0, 1], [8, 3])[va]).tolist()
    [2, 1]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D; got shape {labels.shape}.")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie strictly between 0 and 1; got {fraction!r}.")
    values, sizes = np.unique(labels, return_counts=True)
    if (sizes < 3).any():
        small = {v.item(): int(s) for v, s in zip(values, sizes, strict=True) if s < 3}
        raise ValueError(f"a validation split needs 3+ images per class; short: {small}.")
    rng = np.random.default_rng(resolve_seed(random_state))
    train, val = [], []
    for v, n in zip(values, sizes, strict=True):
        members = rng.permutation(np.flatnonzero(labels == v))
        k = int(min(max(round(fraction * n), 1), n - 2))
        val.append(members[:k])
        train.append(members[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def tune_deepclsmote(
    X: np.ndarray,
    y: np.ndarray,
    *,
    sampler_params: dict[str, Any],
    score: Score,
    random_state: int,
    fraction: float = 0.25,
    weights: Sequence[float] = WEIGHTS,
    decodings: Sequence[str] = DECODINGS,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The best ``{w_compact, w_separation, decoding}`` and every trial's score.

    ``X, y`` is the training data of one fold; a stratified ``fraction`` of it
    is held out for validation, the rest is oversampled by each setting.
    """
    if not weights or not decodings:
        raise ValueError("the tuning grid needs at least one weight and one decoding.")
    tr, va = validation_split(y, fraction, random_state=random_state)
    trials: list[dict[str, Any]] = []
    for w in weights:
        sampler = DeepCLSMOTE(random_state=random_state, w_compact=w, w_separation=w,
                              **sampler_params).fit(X[tr], y[tr])
        for decoding in decodings:
            sampler.set_params(decoding=decoding)
            X_new, y_new = sampler.sample("auto")
            X_res = np.concatenate([X[tr], X_new])
            y_res = np.concatenate([y[tr], y_new])
            trials.append({"w_compact": w, "w_separation": w, "decoding": decoding,
                           "val_acsa": float(score(X_res, y_res, X[va], y[va]))})
    best = max(trials, key=lambda t: t["val_acsa"])  # max keeps the first of equal scores
    choice = {k: best[k] for k in ("w_compact", "w_separation", "decoding")}
    return choice, trials


__all__ = ["DECODINGS", "WEIGHTS", "tune_deepclsmote", "validation_split"]
