"""The experiment: imbalanced pool, folds, oversampling, classifiers, metrics.

Protocol, per seed:

1. Draw an imbalanced pool from the dataset with the chosen class counts
   (the paper's counts scaled to fit, by default) and a balanced test set from
   the images left over.
2. Split the pool into stratified folds. In each fold every method
   oversamples the fold's training part only, and the same classifier (same
   architecture, epochs and seed) trains on the result, once without and once
   with standard augmentation (random shifts; flips only where the dataset
   allows them).
3. Score each classifier on the fold's held-out part (imbalanced, as in the
   paper's cross-validation), on the balanced test set, and on every image
   outside the pool (``"rest"``, :func:`~.imbalance.rest_split`, when
   that is more than the balanced test set): per-class recall and ACSA do not
   depend on how many test images a class has, and on a small dataset the
   balanced test set is only as large as the largest class leaves, so the
   rarest classes' recall is measured on many more images there.

The report holds every fold's metrics, their mean and standard deviation, and
a paired Wilcoxon test of each method's ACSA against no oversampling.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from .. import __version__
from ..datasets import ImageDataset
from . import classifiers, imbalance, metrics
from .methods import DEFAULT_METHODS, LEGACY_METHODS, check_grow, check_methods, oversample

logger = logging.getLogger(__name__)

#: Budgets: ``smoke`` for tests, ``cpu`` for minutes on a laptop, ``paper`` for a GPU.
#: Epochs are minimums: small pools get more epochs so that the autoencoder and
#: the classifier trained without oversampling still make at least ``min_steps``
#: optimiser steps (a 300-image pool at batch 64 is only 5 steps an epoch).
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


def _epochs_for(min_epochs: int, min_steps: int, n: int, batch_size: int) -> int:
    """At least ``min_epochs``, and enough epochs for ``min_steps`` steps over ``n`` images."""
    return max(min_epochs, -(-min_steps // max(1, -(-n // batch_size))))


#: Dataset name prefixes whose images may be flipped left-right without changing the
#: class (natural images; not digits, letters or traffic signs).
FLIPPABLE = ("cifar",)

Progress = Callable[[str, int, int], None]


@dataclass
class ExperimentConfig:
    """What to run. ``counts=None`` means the paper's profile scaled to fit.

    ``grow``: how far every oversampling method grows the classes, as a
    multiple of the largest (1 balances; 2 grows every class, the largest
    included, to twice the largest). ``none`` is never grown.
    """

    dataset: str
    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    folds: int = 5
    seeds: list[int] = field(default_factory=lambda: [0])
    profile: str = "cpu"
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
        classifiers.check_lr_schedule(self.lr_schedule)    # before any training, not per fold
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2; got {self.folds}.")
        if self.test_per_class is not None and self.test_per_class < 1:
            raise ValueError(f"test_per_class must be at least 1; got {self.test_per_class}.")


def pool_counts(cfg: ExperimentConfig, data: ImageDataset) -> list[int]:
    """Class counts of the imbalanced pool, scaled to fit the dataset."""
    available = data.counts().tolist()
    k = len(available)
    if cfg.counts is not None:
        counts = list(cfg.counts)
    elif k == 10 and data.images.ndim == 4:
        counts = imbalance.PAPER_COUNTS["cifar10"]
    elif k == 10:
        counts = imbalance.PAPER_COUNTS["mnist"]
    else:
        counts = imbalance.geometric_counts(max(available), k, 100.0)
    if len(counts) != k:
        raise ValueError(f"{len(counts)} class counts for {k} classes.")
    reserve = cfg.test_per_class or max(2, min(available) // 10)
    counts = imbalance.scale_to_fit(counts, available, reserve=reserve, names=data.classes)
    pool = PROFILES[cfg.profile]["pool"]
    if pool is not None and sum(counts) > pool:
        counts = imbalance.scale_to_fit(counts, [round(c * pool / sum(counts)) + 1
                                                 for c in counts])
    # Every fold trains on 3+ per class.
    return [max(c, cfg.folds + 2, 6) for c in counts]


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


def run_experiment(cfg: ExperimentConfig, data: ImageDataset,
                   progress: Progress | None = None) -> tuple[dict, dict]:
    """Run the protocol on ``data``.

    Returns the report (a JSON-ready dict) and, per deep method, the data of
    the first fold's figures (loss curves, latent projection, image grids).
    """
    profile = PROFILES[cfg.profile]
    cfg, data, without_images = _classes_with_images(cfg, data)
    counts = pool_counts(cfg, data)
    fold_size = sum(counts) * (cfg.folds - 1) // cfg.folds
    sampler_params = {**profile["sampler"], "device": cfg.device}
    sampler_params["epochs"] = _epochs_for(sampler_params["epochs"], profile["sampler_min_steps"],
                                           fold_size, sampler_params["batch_size"])
    clf_batch = profile["classifier"]["batch_size"]
    clf_epochs = _epochs_for(profile["classifier"]["epochs"], profile["classifier_min_steps"],
                             fold_size, clf_batch)
    labels = list(range(len(data.classes)))
    hflip = data.name.lower().startswith(FLIPPABLE)
    runs: list[dict] = []
    figures: dict[str, dict] = {}
    total = len(cfg.seeds) * cfg.folds * len(cfg.methods)
    done = 0
    start = time.perf_counter()
    for seed in cfg.seeds:
        pool, test = imbalance.imbalanced_split(
            data.labels, counts, test="balanced", test_per_class=cfg.test_per_class,
            random_state=seed, classes=data.classes)
        X_test, y_test = data.images[test], data.labels[test]
        rest = imbalance.rest_split(data.labels, pool, random_state=seed)
        splits = {"balanced_test": (X_test, y_test)}
        if len(rest) > len(test):
            splits["rest"] = (data.images[rest], data.labels[rest])
        folds = imbalance.stratified_folds(data.labels[pool], cfg.folds, random_state=seed)
        for fold, (tr, ho) in enumerate(folds):
            X_tr, y_tr = data.images[pool[tr]], data.labels[pool[tr]]
            X_ho, y_ho = data.images[pool[ho]], data.labels[pool[ho]]
            for method in cfg.methods:
                t0 = time.perf_counter()
                X_m, y_m, deep = oversample(method, X_tr, y_tr, sampler_params=sampler_params,
                                            random_state=seed, grow=cfg.grow)
                if deep is not None and method not in figures:
                    figures[method] = _figure_data(deep, X_tr, y_tr, X_m, y_m)
                n_train = len(y_m)
                for augment in cfg.augmentations:
                    spec = _classifier_spec(cfg, clf_epochs, augment, hflip,
                                            side=min(data.images.shape[1:3]))
                    model = classifiers.train_classifier(profile["model"], X_m, y_m,
                                                         len(labels), spec, random_state=seed)
                    for split_name, (Xs, ys) in {"fold": (X_ho, y_ho), **splits}.items():
                        pred = classifiers.predict(model, Xs, device=cfg.device)
                        runs.append({
                            "seed": seed, "fold": fold, "method": method, "augment": augment,
                            "split": split_name, "train_size": n_train,
                            "seconds_since_oversampling": time.perf_counter() - t0,
                            **metrics.classification_report(ys, pred, labels=labels),
                        })
                done += 1
                if progress is not None:
                    progress(f"seed {seed} fold {fold + 1}/{cfg.folds} {method}", done, total)
    report = {
        "library_version": __version__,
        "config": asdict(cfg),
        "dataset": {"name": data.name, "classes": data.classes,
                    "image_shape": list(data.images.shape[1:]), "available": len(data),
                    **({"classes_without_images": without_images} if without_images else {})},
        "pool_counts": counts,
        "test_per_class": int(np.bincount(y_test).max()) if len(cfg.seeds) else None,
        "rest_per_class": (np.bincount(data.labels[rest], minlength=len(labels)).tolist()
                           if len(cfg.seeds) and "rest" in splits else None),
        "profile": profile,
        "sampler_epochs": sampler_params["epochs"],
        "classifier_epochs": clf_epochs,
        "augment_max_shift": max_shift_for(min(data.images.shape[1:3])),
        "seconds": time.perf_counter() - start,
        "runs": runs,
        **_summaries(runs, cfg.methods, counts),
    }
    return report, figures


def _summaries(runs: list[dict], methods: list[str], counts: list[int]) -> dict:
    """A report's derived parts: the rarest classes, the summary rows and the findings."""
    rarest = metrics.rarest_classes(counts)
    summary = summarise_runs(runs, methods, rarest=rarest)
    return {"rarest_classes": rarest, "summary": summary, "findings": findings(summary)}


def summarise_runs(runs: list[dict], methods: list[str], rarest: list[int]) -> list[dict]:
    """Mean and spread per method, augmentation and split; paired comparisons.

    ``rare3_recall`` is the mean recall of the classes ``rarest`` (the three
    with the fewest training images, and any class tied with the third:
    :func:`~deepclsmote.evaluation.metrics.rarest_classes`).
    ``wilcoxon_vs_none`` tests each method's ACSA against no oversampling, as
    the papers do. ``vs_ros`` sets it against random oversampling, the
    baseline a generator has to beat: the mean and standard deviation of the
    paired differences (ACSA, 0-1), their number, in how many pairs it is
    ahead and behind, and the Wilcoxon p-value; with two or more seeds,
    ``vs_ros["over_seeds"]`` holds the same over the seeds' means.
    ``rarest_vs_ros`` is the same for the recall of the rarest classes.
    Pairs are matched by (seed, fold).
    """
    out = []
    keys = sorted({(r["augment"], r["split"]) for r in runs})
    for augment, split in keys:
        by_method = {m: [r for r in runs if r["method"] == m and r["augment"] == augment
                         and r["split"] == split] for m in methods}
        base_runs, ros_runs = by_method.get("none", []), by_method.get("ros", [])
        base = [r["acsa"] for r in base_runs]
        ros = [r["acsa"] for r in ros_runs]
        for method, rs in by_method.items():
            if not rs:
                continue
            recalls = np.array([r["per_class_recall"] for r in rs])
            row = {"method": method, "augment": augment, "split": split,
                   **{m: metrics.summarise([r[m] for r in rs])
                      for m in ("acsa", "macro_f1", "gm_ovr_macro", "gm_multiclass")},
                   "per_class_recall": recalls.mean(axis=0).tolist(),
                   "rare3_recall": metrics.summarise(_rarest_recall(rs, rarest))}
            if base and method != "none" and _pairs(base_runs) == _pairs(rs):
                row["wilcoxon_vs_none"] = metrics.paired_wilcoxon([r["acsa"] for r in rs], base)
            if ros and method != "ros" and _pairs(ros_runs) == _pairs(rs):
                seeds = [r["seed"] for r in rs]
                row["vs_ros"] = _paired_difference([r["acsa"] for r in rs], ros, seeds=seeds)
                row["rarest_vs_ros"] = _paired_difference(
                    _rarest_recall(rs, rarest), _rarest_recall(ros_runs, rarest), seeds=seeds)
            out.append(row)
    return out


def findings(summary: list[dict]) -> list[dict]:
    """Per method, augmentation and test split: is it ahead of random oversampling?

    The plain answer the evaluation exists to give. For ACSA and for the
    rarest classes' recall, the paired lead over random oversampling is set
    against its own spread: over seeds when there are two or more (each
    seed's folds averaged first), else over single folds. ``"ahead"`` means
    ahead by more than that standard deviation, ``"behind"`` behind by more,
    ``"level"`` within it, and ``"unknown"`` one pair, no spread to judge by.
    ``helps`` is true only when both are ahead.

    The balanced test set's findings come first; those of every image outside
    the pool (``split == "rest"``), where the report has that split, follow:
    the same question asked of more test images in the rarest classes.
    """
    out = []
    for row in sorted(summary, key=lambda r: r["split"] != "balanced_test"):
        if row["split"] not in ("balanced_test", "rest") or "vs_ros" not in row:
            continue
        verdicts = {}
        for key, lead in (("acsa", row["vs_ros"]), ("rarest_recall", row["rarest_vs_ros"])):
            lead = lead.get("over_seeds", lead)
            verdicts[key] = {"mean_diff": lead["mean_diff"], "std_diff": lead["std_diff"],
                             "over": "seeds" if "seeds" in lead else "folds", "n": lead["n"],
                             "verdict": _verdict(lead)}
        finding = {"method": row["method"], "augment": row["augment"], "split": row["split"],
                   **verdicts,
                   "helps": all(v["verdict"] == "ahead" for v in verdicts.values())}
        out.append({**finding, "text": _finding_text(finding)})
    return out


_VERDICT_TEXT = {"ahead": "ahead by more than its spread",
                 "behind": "behind by more than its spread",
                 "level": "within its spread: no clear difference",
                 "unknown": "one pair, no spread to judge by"}


def _finding_text(f: dict) -> str:
    """One sentence a person can act on, e.g. for the report's first lines."""
    acsa, rare = f["acsa"], f["rarest_recall"]
    over = (f"over {acsa['n']} seeds" if acsa["over"] == "seeds"
            else f"over {acsa['n']} fold{'s' if acsa['n'] != 1 else ''}")
    verdict = ("ahead of random oversampling in both" if f["helps"]
               else "not shown to help: it has to be ahead in both")
    where = ", every image outside the pool" if f.get("split") == "rest" else ""
    return (f"{f['method']}, classifier "
            f"{'with' if f['augment'] else 'without'} augmentation, {over}{where}: ACSA "
            f"{100 * acsa['mean_diff']:+.2f} (sd {100 * acsa['std_diff']:.2f}), "
            f"{_VERDICT_TEXT[acsa['verdict']]}; recall of the rarest classes "
            f"{100 * rare['mean_diff']:+.2f} (sd {100 * rare['std_diff']:.2f}), "
            f"{_VERDICT_TEXT[rare['verdict']]}. {verdict[0].upper()}{verdict[1:]}.")


def _verdict(lead: dict) -> str:
    if lead["n"] < 2:
        return "unknown"
    if lead["mean_diff"] > lead["std_diff"]:
        return "ahead"
    if lead["mean_diff"] < -lead["std_diff"]:
        return "behind"
    return "level"


def _rarest_recall(runs: list[dict], rarest: list[int]) -> list[float]:
    """Each run's mean recall over the classes ``rarest``."""
    return np.array([r["per_class_recall"] for r in runs])[:, rarest].mean(axis=1).tolist()


def _pairs(runs: list[dict]) -> list[tuple[int, int]]:
    """The (seed, fold) of each run: two methods' runs pair when these are equal."""
    return [(r["seed"], r["fold"]) for r in runs]


def _paired_difference(a: list[float], b: list[float], seeds: list[int] | None = None) -> dict:
    """``a - b`` per pair: mean, sd, wins, losses (ties are neither) and Wilcoxon's p.

    With pairs from two or more ``seeds`` (aligned with ``a`` and ``b``),
    ``over_seeds`` holds the same figures for the per-seed means: each seed's
    folds averaged first, so its spread is the spread over seeds (repeats of
    the whole protocol on another draw of the pool and test set), where
    ``std_diff`` is the spread over single folds.
    """
    d = metrics.paired_differences(a, b)
    out = {"mean_diff": float(d.mean()), "std_diff": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
           "n": len(d), "ahead": int((d > 0).sum()), "behind": int((d < 0).sum()),
           "p_value": metrics.paired_wilcoxon(a, b)["p_value"]}
    if seeds is not None and len(set(seeds)) > 1:
        seed_of, a_arr, b_arr = np.asarray(seeds), np.asarray(a), np.asarray(b)
        order = list(dict.fromkeys(seeds))
        a_seed = [float(a_arr[seed_of == s].mean()) for s in order]
        b_seed = [float(b_arr[seed_of == s].mean()) for s in order]
        out["over_seeds"] = {"seeds": order,
                             "mean_diff_per_seed": metrics.paired_differences(
                                 a_seed, b_seed).tolist(),
                             **_paired_difference(a_seed, b_seed)}
    return out


#: What must be equal for two reports' folds to be pooled: the same protocol.
_PROTOCOL = ("pool_counts", "test_per_class", "sampler_epochs", "classifier_epochs",
             "augment_max_shift", "profile")
_PROTOCOL_CONFIG = ("dataset", "folds", "profile", "augmentations", "test_per_class")
#: Protocol settings added later, with the value that reports made before them had.
_PROTOCOL_CONFIG_ADDED = {"lr_schedule": ExperimentConfig.lr_schedule,
                          "grow": ExperimentConfig.grow}


def _with_current_names(report: dict) -> dict:
    """``report`` with method names of earlier versions renamed where a method is the same."""
    methods = report["config"]["methods"]
    rename = {old: new for old, (new, _) in LEGACY_METHODS.items()
              if new is not None and old in methods and new not in methods}
    if not rename:
        return report
    return {**report,
            "config": {**report["config"], "methods": [rename.get(m, m) for m in methods]},
            "runs": [{**run, "method": rename.get(run["method"], run["method"])}
                     for run in report["runs"]]}


def combine_reports(reports: list[dict]) -> dict:
    """Pool the folds of several reports of one protocol into one report.

    Seeds run apart (a process or a machine each) give one report each; the
    combined report is what one command over all their seeds would have
    summarised: means, spreads, paired differences and Wilcoxon tests over
    every fold. The reports must share the dataset and protocol and have
    different seeds. Only the methods every report ran are kept (the pairs
    need them all); ``combined_from`` records each report's seeds, methods,
    seconds and library version. Method names of earlier versions that are
    the same as a method of this one are read as its new name
    (``LEGACY_METHODS``), so older seeds pool with newer ones.
    """
    if not reports:
        raise ValueError("no reports to combine.")
    for i, r in enumerate(reports):
        if (not isinstance(r, dict) or not {"config", "runs", "dataset", *_PROTOCOL} <= set(r)
                or not isinstance(r["config"], dict)
                or not {"seeds", "methods", *_PROTOCOL_CONFIG} <= set(r["config"])):
            raise ValueError(f"report {i + 1} is not an evaluate report.json (it needs "
                             f"'config' with {list(_PROTOCOL_CONFIG)}, 'seeds' and 'methods', "
                             f"and 'runs', 'dataset' and {list(_PROTOCOL)}).")
    reports = [_with_current_names(r) for r in reports]
    first = reports[0]
    for i, r in enumerate(reports[1:], start=2):
        if r["dataset"] != first["dataset"]:
            raise ValueError(f"report {i} is of dataset {r['dataset']['name']!r} "
                             f"({len(r['dataset']['classes'])} classes), report 1 of "
                             f"{first['dataset']['name']!r} "
                             f"({len(first['dataset']['classes'])} classes).")
        for key in _PROTOCOL:
            if r[key] != first[key]:
                raise ValueError(f"report {i} differs from report 1 in {key}: "
                                 f"{r[key]!r} against {first[key]!r}.")
        for key, before in {**dict.fromkeys(_PROTOCOL_CONFIG), **_PROTOCOL_CONFIG_ADDED}.items():
            mine, theirs = r["config"].get(key, before), first["config"].get(key, before)
            if mine != theirs:
                raise ValueError(f"report {i} differs from report 1 in {key}: "
                                 f"{mine!r} against {theirs!r}.")
        if r.get("rest_per_class") != first.get("rest_per_class"):  # None: made without it
            raise ValueError(f"report {i} differs from report 1 in rest_per_class: "
                             f"{r.get('rest_per_class')!r} against "
                             f"{first.get('rest_per_class')!r} (a report made before the "
                             f"'rest' split pools only with others made before it).")
    seen: dict[int, int] = {}
    for i, r in enumerate(reports, start=1):
        for seed in r["config"]["seeds"]:
            if seed in seen:
                raise ValueError(f"seed {seed} is in report {seen[seed]} and in report {i}; "
                                 "the same folds would count twice.")
            seen[seed] = i
    methods = [m for m in first["config"]["methods"]
               if all(m in r["config"]["methods"] for r in reports)]
    if not methods:
        raise ValueError("the reports have no method in common.")
    runs = [run for r in reports for run in r["runs"] if run["method"] in methods]
    versions = sorted({r["library_version"] for r in reports})
    return {
        **first,
        "library_version": ", ".join(versions),
        "config": {**first["config"], "seeds": list(seen), "methods": methods},
        "seconds": sum(r["seconds"] for r in reports),
        "runs": runs,
        **_summaries(runs, methods, first["pool_counts"]),
        "combined_from": [{"seeds": r["config"]["seeds"], "methods": r["config"]["methods"],
                           "seconds": r["seconds"], "library_version": r["library_version"]}
                          for r in reports],
    }
