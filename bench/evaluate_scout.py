"""Scouting runs of ``deepclsmote evaluate`` with a method the library does not ship.

Everything after the option's value is the evaluate command's own arguments.

``--times K`` adds ``scout_x<K>``: ``deepclsmote_transfer_wide`` growing every
class, the largest included, to K times the largest
(``deepclsmote_transfer_wide_x2`` is K = 2). Measured on Fashion-MNIST with
K = 3 (docs/results.md); it did worse than K = 2, so it stays out of the
library::

    python bench/evaluate_scout.py --times 3 evaluate --dataset ... --methods ros,scout_x3 ...

``--finish F`` adds ``scout_ft<F>``: ``deepclsmote_transfer_wide_x2_fg``'s
training set, but the classifier spends the last fraction F of its steps (the
same number in all) on random oversampling's set of the same fold, real
images only (the bench's ``ft<f>`` option)::

    python bench/evaluate_scout.py --finish 0.25 evaluate --dataset ... \
        --methods ros,scout_ft0.25 ...
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import torch

from deepclsmote.cli import main
from deepclsmote.evaluation import classifiers, experiment, methods
from deepclsmote.sampler import DeepCLSMOTE


def times_the_largest(k: int):
    def strategy(y) -> dict:
        classes, counts = np.unique(np.asarray(y), return_counts=True)
        return {c: k * int(counts.max()) for c in classes.tolist()}
    return strategy


def add_times(k: int) -> None:
    name = f"scout_x{k}"
    methods.METHODS[name] = f"deepclsmote_transfer_wide, every class to {k} times the largest"
    methods._DEEP[name] = (DeepCLSMOTE, {**methods._WIDE,
                                         "sampling_strategy": times_the_largest(k)})


def train_then_finish(train, model_name, X, y, n_classes, spec, finish, *, random_state):
    """``train`` on ``X`` for all but the last fraction ``f`` of ``spec``'s steps, then
    those last steps on ``X_f`` (``finish=(X_f, y_f, f)``), with a fresh optimiser.

    The bench's ``ft<f>`` option and ``scout_ft<f>`` both train this way.
    """
    X_f, y_f, frac = finish
    total = classifiers._planned_steps(len(y), spec)
    last = round(frac * total)
    model = train(model_name, X, y, n_classes, replace(spec, steps=total - last),
                  random_state=random_state)
    dev = next(model.parameters()).device
    with torch.random.fork_rng():
        torch.manual_seed(random_state + 1)         # dropout
        gen = torch.Generator(device=dev).manual_seed(random_state + 1)
        classifiers._fit(model, classifiers.images_to_tensor(X_f).to(dev),
                         torch.as_tensor(y_f, dtype=torch.int64, device=dev),
                         replace(spec, steps=last), gen, None)
    return model.eval()


def add_finish(frac: float) -> None:
    """Register ``scout_ft<frac>`` by wrapping the experiment's oversample and training."""
    name = f"scout_ft{frac:g}"
    methods.METHODS[name] = (f"deepclsmote_transfer_wide_x2_fg, the classifier's last "
                             f"{frac:g} of its steps on random oversampling's real images")
    methods._DEEP[name] = methods._DEEP["deepclsmote_transfer_wide_x2_fg"]
    # the scout's training set itself (held, so that no later array can be taken for it)
    # and its fold's random oversampling set
    finishing: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    oversample, train = experiment.oversample, classifiers.train_classifier

    def oversample_and_remember(method, X, y, *, sampler_params, random_state):
        X_m, y_m, deep = oversample(method, X, y, sampler_params=sampler_params,
                                    random_state=random_state)
        if method == name:
            X_f, y_f, _ = oversample("ros", X, y, sampler_params=sampler_params,
                                     random_state=random_state)
            finishing[:] = [(X_m, X_f, y_f)]
        return X_m, y_m, deep

    def train_and_finish(model_name, X, y, n_classes, spec, *, random_state, callback=None):
        if not finishing or finishing[0][0] is not X:
            return train(model_name, X, y, n_classes, spec, random_state=random_state,
                         callback=callback)
        _, X_f, y_f = finishing[0]
        return train_then_finish(train, model_name, X, y, n_classes, spec, (X_f, y_f, frac),
                                 random_state=random_state)

    experiment.oversample = oversample_and_remember
    classifiers.train_classifier = train_and_finish


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("--times", "--finish"):
        sys.exit(__doc__)
    if sys.argv[1] == "--times":
        add_times(int(sys.argv[2]))
    else:
        add_finish(float(sys.argv[2]))
    sys.exit(main(sys.argv[3:]))
