"""The experiment: folds, oversampling, classifiers, metrics, on one of two protocols.

Per seed (:mod:`~deepclsmote.evaluation.protocol` says which images):

1. Draw the pool: the user's data as it is (``imbalance="dataset"``), or an
   imbalanced pool with the papers' class counts and a balanced test set from
   the images left over (``imbalance="paper"``).
2. Split the pool into stratified folds. In each fold every method
   oversamples the fold's training part only, and the same classifier (same
   architecture, epochs and seed) trains on the result, once without and once
   with standard augmentation (random shifts; flips only where the dataset
   allows them).
3. Score each classifier on the fold's held-out part (as imbalanced as the
   pool), on the balanced test set (papers' protocol), and on every image
   outside the pool (``"rest"``) when there are such images.

The report holds every fold's metrics, their mean and standard deviation,
pooled figures over the held-out folds, paired comparisons with no
oversampling and with random oversampling, and the plain answers
(:mod:`~deepclsmote.evaluation.findings`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, replace

import numpy as np

from .. import __version__
from ..datasets import ImageDataset
from . import classifiers, imbalance, metrics, protocol
from .combine import combine_reports
from .config import PROFILES, ExperimentConfig
from .findings import findings, summaries, summarise_runs
from .methods import oversample

logger = logging.getLogger(__name__)


def _epochs_for(min_epochs: int, min_steps: int, n: int, batch_size: int) -> int:
    """At least ``min_epochs``, and enough epochs for ``min_steps`` steps over ``n`` images."""
    return max(min_epochs, -(-min_steps // max(1, -(-n // batch_size))))


#: Dataset name prefixes whose images may be flipped left-right without changing the
#: class (natural images; not digits, letters or traffic signs).
FLIPPABLE = ("cifar",)

#: ``progress(what, done, total, seconds_left)`` after each method of each fold;
#: ``seconds_left`` is estimated from the measured times of the steps done (None at first).
Progress = Callable[[str, int, int, "float | None"], None]


def pool_counts(cfg: ExperimentConfig, data: ImageDataset) -> list[int]:
    """Class counts of the pool that ``cfg`` draws from ``data`` (see :func:`protocol.plan`)."""
    return protocol.plan(cfg, data.counts().tolist(), names=data.classes,
                         colour=data.images.ndim == 4).pool_counts


def _classes_with_images(cfg: ExperimentConfig, data: ImageDataset
                         ) -> tuple[ExperimentConfig, ImageDataset, list[str]]:
    """``data`` without the classes that hold no image (the rest relabelled in order), the
    config with counts given for every class narrowed to those kept, and the names left out.

    A loader may name classes that hold no image: EMNIST letters' unused class
    0, GTSRB's 43 classes read from a folder of a few, an ``.npz`` whose
    ``classes`` or labels skip a value. There is nothing in them to draw,
    train on or test, so they are left out and the report names them; a class
    with too few images is still refused by name.
    """
    counts = data.counts()
    keep = np.flatnonzero(counts)
    if len(keep) == len(counts):
        return cfg, data, []
    if cfg.counts is not None and len(cfg.counts) == len(counts):
        cfg = replace(cfg, counts=[cfg.counts[c] for c in keep])
    relabel = np.full(len(counts), -1, dtype=np.int64)
    relabel[keep] = np.arange(len(keep))
    kept = ImageDataset(data.images, relabel[data.labels], [data.classes[c] for c in keep],
                        data.name)
    return cfg, kept, [data.classes[c] for c in np.flatnonzero(counts == 0)]


def max_shift_for(side: int) -> int:
    """Augmentation shift in pixels for images of ``side`` pixels: 2 at 28, 1 at 8.

    A fixed 2-pixel shift is a quarter of an 8x8 digit; measured on digits it
    cost every method accuracy (docs/results.md).
    """
    return max(1, round(side / 14))


def _classifier_spec(cfg, epochs: int, augment: bool, hflip: bool, side: int):
    batch_size = PROFILES[cfg.profile]["classifier"]["batch_size"]
    return classifiers.TrainSpec(epochs=epochs, batch_size=batch_size, augment=augment,
                                 max_shift=max_shift_for(side), hflip=hflip and augment,
                                 lr_schedule=cfg.lr_schedule, device=cfg.device)


def _figure_data(deep, X_tr, y_tr, X_m, y_m) -> dict:
    """What the report's figures need from a fitted deep sampler (first fold only)."""
    from sklearn.decomposition import PCA

    codes = deep.encode(X_tr)
    xy = PCA(n_components=2, random_state=0).fit_transform(codes)
    centroids = np.stack([xy[y_tr == c].mean(0) for c in np.unique(y_tr)])
    n = len(y_tr)
    return {"history": deep.history_, "pca": xy, "pca_labels": y_tr, "centroids": centroids,
            "real": (X_tr, y_tr), "synthetic": (X_m[n:], y_m[n:]), "spec": deep.image_spec_}


def _quality(fresh: dict, X_tr, y_tr, X_ho, y_ho, reference_model, cfg) -> dict:
    """Each method's new images of a fold measured against the fold's real training images
    (:mod:`deepclsmote.quality`): near-copies, novelty, diversity, and fidelity by no
    oversampling's classifier, whose recall on the held-out part is its reference."""
    from ..quality import FidelityClassifier, quality_report, reference

    classifier = None
    if reference_model is not None:
        pred = classifiers.predict(reference_model, X_ho, device=cfg.device)
        recall = {c: float((pred[y_ho == c] == c).mean()) for c in np.unique(y_ho).tolist()}
        classifier = FidelityClassifier(reference_model, list(range(int(y_tr.max()) + 1)),
                                        recall, device=cfg.device)
    ref = reference(X_tr, y_tr)
    out = {}
    for method, (X_new, y_new, deep) in fresh.items():
        report, _, _ = quality_report(X_tr, y_tr, X_new, y_new, classifier=classifier,
                                      encode=deep.encode if deep is not None else None,
                                      ref=ref)
        out[method] = {"overall": report["overall"],
                       "near_copy_share": {str(r["class"]): r["near_copy_share"]
                                           for r in report["classes"]}}
    return out


class _Clock:
    """The time left, from the measured time of each method's steps (methods differ a lot:
    a deep sampler trains an autoencoder, random oversampling copies rows)."""

    def __init__(self, steps: list[str]):
        self.left = list(steps)
        self.seconds: dict[str, list[float]] = {}

    def done(self, method: str, seconds: float) -> float | None:
        self.seconds.setdefault(method, []).append(seconds)
        self.left.pop(0)
        means = {m: float(np.mean(t)) for m, t in self.seconds.items()}
        fallback = max(means.values())      # a method not yet run: the slowest so far
        return sum(means.get(m, fallback) for m in self.left)


def run_experiment(cfg: ExperimentConfig, data: ImageDataset,
                   progress: Progress | None = None) -> tuple[dict, dict]:
    """Run the protocol on ``data``.

    Returns the report (a JSON-ready dict) and, per deep method, the data of
    the first fold's figures (loss curves, latent projection, image grids).
    Raises ``ValueError`` naming the class and what to change when the data
    cannot be evaluated so (before any training).
    """
    profile = PROFILES[cfg.profile]
    cfg, data, without_images = _classes_with_images(cfg, data)
    plan = protocol.plan(cfg, data.counts().tolist(), names=data.classes,
                         colour=data.images.ndim == 4)
    counts, n_folds = plan.pool_counts, plan.folds
    fold_size = sum(counts) * (n_folds - 1) // n_folds
    sampler_params = {**profile["sampler"], "device": cfg.device}
    sampler_params["epochs"] = _epochs_for(sampler_params["epochs"], profile["sampler_min_steps"],
                                           fold_size, sampler_params["batch_size"])
    clf_batch = profile["classifier"]["batch_size"]
    clf_epochs = _epochs_for(profile["classifier"]["epochs"], profile["classifier_min_steps"],
                             fold_size, clf_batch)
    labels = list(range(len(data.classes)))
    hflip = data.name.lower().startswith(FLIPPABLE)
    runs: list[dict] = []
    quality: dict[int, dict] = {}
    figures: dict[str, dict] = {}
    clock = _Clock(list(cfg.methods) * n_folds * len(cfg.seeds))
    total, done = len(clock.left), 0
    start = time.perf_counter()
    for seed in cfg.seeds:
        pool, split_idx = protocol.draw(plan, data.labels, seed=seed, names=data.classes)
        splits = {name: (data.images[idx], data.labels[idx]) for name, idx in split_idx.items()}
        folds = imbalance.stratified_folds(data.labels[pool], n_folds, random_state=seed)
        for fold, (tr, ho) in enumerate(folds):
            X_tr, y_tr = data.images[pool[tr]], data.labels[pool[tr]]
            X_ho, y_ho = data.images[pool[ho]], data.labels[pool[ho]]
            fresh: dict[str, tuple] = {}       # each method's new images, first fold only
            reference_model = None             # no oversampling's classifier: real images only
            for method in cfg.methods:
                t0 = time.perf_counter()
                X_m, y_m, deep = oversample(method, X_tr, y_tr, sampler_params=sampler_params,
                                            random_state=seed, grow=cfg.grow)
                if deep is not None and method not in figures:
                    figures[method] = _figure_data(deep, X_tr, y_tr, X_m, y_m)
                n_train = len(y_m)
                if fold == 0 and method != "none":
                    fresh[method] = (X_m[len(y_tr):], y_m[len(y_tr):], deep)
                for augment in cfg.augmentations:
                    spec = _classifier_spec(cfg, clf_epochs, augment, hflip,
                                            side=min(data.images.shape[1:3]))
                    model = classifiers.train_classifier(profile["model"], X_m, y_m,
                                                         len(labels), spec, random_state=seed)
                    if method == "none":
                        reference_model = model
                    for split_name, (Xs, ys) in {"fold": (X_ho, y_ho), **splits}.items():
                        pred = classifiers.predict(model, Xs, device=cfg.device)
                        runs.append({
                            "seed": seed, "fold": fold, "method": method, "augment": augment,
                            "split": split_name, "train_size": n_train,
                            "seconds_since_oversampling": time.perf_counter() - t0,
                            **metrics.classification_report(ys, pred, labels=labels),
                        })
                done += 1
                left = clock.done(method, time.perf_counter() - t0)
                if progress is not None:
                    progress(f"seed {seed} fold {fold + 1}/{n_folds} {method}", done, total, left)
            if fresh:
                quality[seed] = _quality(fresh, X_tr, y_tr, X_ho, y_ho, reference_model, cfg)
    report = {
        "library_version": __version__,
        "config": asdict(cfg),
        "dataset": {"name": data.name, "classes": data.classes,
                    "image_shape": list(data.images.shape[1:]), "available": len(data),
                    **({"classes_without_images": without_images} if without_images else {})},
        "pool_counts": counts,
        "folds_used": n_folds,
        "wiring_check": cfg.wiring_check,
        "test_per_class": (int(np.bincount(splits["balanced_test"][1]).max())
                           if cfg.seeds and "balanced_test" in splits else None),
        "rest_per_class": (np.bincount(splits["rest"][1], minlength=len(labels)).tolist()
                           if cfg.seeds and "rest" in splits else None),
        "profile": profile,
        "sampler_epochs": sampler_params["epochs"],
        "classifier_epochs": clf_epochs,
        "augment_max_shift": max_shift_for(min(data.images.shape[1:3])),
        "seconds": time.perf_counter() - start,
        "runs": runs,
        "quality": {str(seed): q for seed, q in quality.items()},
        **summaries(runs, cfg.methods, counts, imbalance=cfg.imbalance,
                    wiring_check=cfg.wiring_check),
    }
    return report, figures


__all__ = ["PROFILES", "ExperimentConfig", "combine_reports", "findings", "pool_counts",
           "run_experiment", "summarise_runs"]
