"""What an experiment runs: its configuration and the budgets it draws on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import classifiers
from .methods import DEFAULT_METHODS, check_grow, check_methods

#: Budgets: ``smoke`` for tests, ``cpu`` for minutes on a laptop, ``paper`` for a GPU.
#: Epochs are minimums: small pools get more epochs so that the autoencoder and
#: the classifier trained without oversampling still make at least ``min_steps``
#: optimiser steps (a 300-image pool at batch 64 is only 5 steps an epoch).
#: ``pool`` caps the images drawn for training and held-out testing.
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"sampler": {"epochs": 1, "dim_h": 4, "n_z": 8, "batch_size": 32},
              "sampler_min_steps": 0,
              "classifier": {"epochs": 1, "batch_size": 64}, "classifier_min_steps": 0,
              "model": "simple_cnn", "pool": 300},
    "cpu": {"sampler": {"epochs": 20, "dim_h": 16, "n_z": 32, "batch_size": 64},
            "sampler_min_steps": 1200,
            "classifier": {"epochs": 10, "batch_size": 64}, "classifier_min_steps": 300,
            "model": "simple_cnn", "pool": 1800},
    "paper": {"sampler": {"epochs": 200, "dim_h": 64, "batch_size": 100},
              "sampler_min_steps": 0,
              "classifier": {"epochs": 30, "batch_size": 128}, "classifier_min_steps": 0,
              "model": "resnet18", "pool": None},
}

#: ``smoke`` checks that the pipeline runs; its figures answer nothing.
WIRING_CHECK_PROFILES = ("smoke",)

#: The protocols (:mod:`~deepclsmote.evaluation.protocol`): a user's data as it is, tested on
#: held-out folds, or the papers' imbalanced pool with a balanced test set.
IMBALANCES = ("dataset", "paper")


@dataclass
class ExperimentConfig:
    """What to run.

    ``imbalance``: ``"dataset"`` (the default) evaluates the data as it is:
    stratified folds over its images, each fold's held-out part (as
    imbalanced as the data) the test, the figures pooled over folds.
    ``"paper"`` is the papers' protocol for benchmark sets: an imbalanced pool
    drawn with the papers' class counts (scaled to fit) and a balanced test
    set from the images left over. ``counts`` draws the pool with these class
    counts instead (scaled to fit) under either protocol.

    ``grow``: how far every oversampling method grows the classes, as a
    multiple of the largest (1 balances; 2 grows every class, the largest
    included, to twice the largest). ``none`` is never grown.
    """

    dataset: str
    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    folds: int = 5
    seeds: list[int] = field(default_factory=lambda: [0])
    profile: str = "cpu"
    imbalance: str = "dataset"
    counts: list[int] | None = None
    test_per_class: int | None = None
    augmentations: list[bool] = field(default_factory=lambda: [False, True])
    lr_schedule: str = "constant"
    grow: float = 1.0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.methods = check_methods(self.methods)
        self.grow = check_grow(self.grow)
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {list(PROFILES)}; got {self.profile!r}.")
        if self.imbalance not in IMBALANCES:
            raise ValueError(f"imbalance must be one of {list(IMBALANCES)}; got "
                             f"{self.imbalance!r}.")
        classifiers.check_lr_schedule(self.lr_schedule)    # before any training, not per fold
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2; got {self.folds}.")
        if self.test_per_class is not None and self.test_per_class < 1:
            raise ValueError(f"test_per_class must be at least 1; got {self.test_per_class}.")
        if self.test_per_class is not None and self.imbalance == "dataset":
            raise ValueError("test_per_class sets the papers' balanced test set; imbalance "
                             "'dataset' tests on held-out folds instead (use imbalance "
                             "'paper' for a balanced test set).")

    @property
    def wiring_check(self) -> bool:
        """True for a budget that checks the pipeline runs and answers nothing (``smoke``)."""
        return self.profile in WIRING_CHECK_PROFILES


__all__ = ["IMBALANCES", "PROFILES", "WIRING_CHECK_PROFILES", "ExperimentConfig"]
