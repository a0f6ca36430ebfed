"""Writing an experiment's report: JSON, a Markdown table, and PNG figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..figures import real_vs_synthetic_grid
from .imbalance import REST_PER_CLASS
from .methods import describe_method
from .metrics import rarest_classes

_COLUMNS = ("acsa", "macro_f1", "gm_ovr_macro", "gm_multiclass", "rare3_recall")
_HEADERS = ("ACSA", "macro F1", "GM (one-vs-rest macro)", "GM (multiclass)",
            "recall, rarest")


def _pct(s: dict) -> str:
    return f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}"


#: Every term the report uses, in words (report.md's last section, and the dashboard's).
GLOSSARY: dict[str, str] = {
    "ACSA": "average class-specific accuracy: the recall of each class (the share of its test "
            "images the classifier got right), averaged over the classes, so that a small "
            "class counts as much as a large one",
    "recall, rarest": "the mean recall of the rarest classes: the three with the fewest "
                      "training images, and any class tied with the third",
    "macro F1": "the F1 score (harmonic mean of precision and recall) of each class, "
                "averaged over the classes",
    "GM (one-vs-rest macro)": "the geometric mean of the average recall and the average "
                              "specificity over the classes (DeepSMOTE's tables)",
    "GM (multiclass)": "the geometric mean of the per-class recalls: 0 when one class is "
                       "never recognised",
    "no oversampling (none)": "the classifier trained on the images as they are",
    "random oversampling (ros)": "every class brought up to the largest by repeating its "
                                 "own images: the baseline a generator has to beat",
    "fold, held-out fold": "the data is split into k parts of the same class proportions; "
                           "each part is the test once while the others train",
    "pool": "the images the folds are drawn from",
    "pooled": "counted over every held-out image at once (each seed's folds' confusion "
              "matrices summed), rather than fold by fold",
    "balanced test set": "the papers' protocol: as many test images of every class, drawn "
                         "from the images outside the pool",
    "every image outside the pool": "the images no fold trained on, up to 1,000 a class",
    "augmentation": "random shifts (and flips for natural images) of the training images "
                    "while the classifier trains",
    "paired difference, minus ROS": "a method's score minus random oversampling's on the "
                                    "same fold and seed, so both saw the same images",
    "spread, sd": "the standard deviation of those paired differences over folds (or over "
                  "seeds, each seed's folds averaged first): a lead counts only when it is "
                  "larger than its spread",
    "ahead / behind": "in how many of the pairs the method scored higher / lower",
    "p, Wilcoxon": "the paired Wilcoxon signed-rank test's p-value: how likely differences "
                   "this consistent are by chance; with few pairs it cannot be small",
    "grow": "how far every oversampling method grows the classes, as a multiple of the "
            "largest class (1: balance)",
    "wiring check": "profile smoke: tiny networks trained for about one epoch, to show the "
                    "pipeline runs; its figures answer nothing",
}

_WIRING_CHECK = ("**Wiring check, not a result.** Profile `smoke` trains tiny networks for "
                 "about one epoch: this run shows that the pipeline works on this data, and "
                 "its figures say nothing about whether any method helps. No method is "
                 "compared or named best. Run profile `cpu` (minutes) or `paper` (a GPU) for "
                 "an answer.")


def markdown(report: dict) -> str:
    """The answer first, then what was run, the findings, the tables and a glossary."""
    cfg = report["config"]
    lines = [f"# Evaluation: {report['dataset']['name']}", ""]
    if report.get("wiring_check", cfg["profile"] == "smoke"):
        lines += [_WIRING_CHECK, ""]
    if report.get("answers"):
        lines += ["## The answer", "", _answers_intro(report), ""]
        lines += [f"- {a['text']}" for a in report["answers"]] + [""]
    lines += ["## What was run", "", _what_was_run(report)]
    if report.get("combined_from"):
        parts = "; ".join(f"seeds {c['seeds']} in {c['seconds']:.0f} s"
                          for c in report["combined_from"])
        lines += ["", f"Pooled from {len(report['combined_from'])} reports ({parts}); the "
                  f"time above is their sum."]
    primary = _primary(report)
    if report.get("findings"):
        lines += ["", "## Against random oversampling", "",
                  f"On the {_SPLITS[primary]}, each method's paired lead over random "
                  "oversampling set against its spread (over seeds when there are several)"
                  + ("; then the same on every image outside the pool:"
                     if any(f.get("split") == "rest" for f in report["findings"]) else ":"),
                  ""]
        lines += [f"- {f['text']}" for f in report["findings"]]
    lines += _tables(report, primary)
    lines += _quality_lines(report)
    lines += ["", "## Glossary", ""]
    lines += [f"- **{term}**: {text}." for term, text in GLOSSARY.items()]
    return "\n".join(lines) + "\n"


_SPLITS = {"fold": "held-out folds (as imbalanced as the pool)",
           "balanced_test": "balanced test set",
           "rest": "every image outside the pool (imbalanced)"}


def _primary(report: dict) -> str:
    return "fold" if report["config"].get("imbalance", "paper") == "dataset" else "balanced_test"


def _answers_intro(report: dict) -> str:
    where = ("every image of your data tested once per seed, on held-out folds"
             if _primary(report) == "fold" else "the balanced test set")
    augment = report["answers"][0]["augment"]
    return (f"Read on {where}, with the classifier trained "
            f"{'with' if augment else 'without'} augmentation. A verdict counts a change only "
            f"when it is larger than its spread over folds (over seeds when there are "
            f"several); see the glossary.")


def _what_was_run(report: dict) -> str:
    cfg = report["config"]
    names = report["dataset"]["classes"]
    folds = report.get("folds_used", cfg["folds"])
    n_pairs = folds * len(cfg["seeds"])
    if _primary(report) == "fold":
        text = (f"Your data as it is: a pool of {sum(report['pool_counts']):,} images, "
                f"{report['pool_counts']} per class, in {folds} stratified folds"
                + (f" ({cfg['folds']} asked for; the smallest class, "
                   f"{min(report['pool_counts'])} images, allows {folds})"
                   if folds < cfg["folds"] else "")
                + ". Each fold's held-out part is a test set as imbalanced as the data.")
    else:
        text = (f"The papers' protocol: an imbalanced pool with class counts "
                f"{report['pool_counts']}, {folds} folds, and a balanced test set of "
                f"{report['test_per_class']} per class.")
    text += (f" Profile `{cfg['profile']}`, seeds {cfg['seeds']}; autoencoder "
             f"{report['sampler_epochs']} epochs, classifier {report['classifier_epochs']} "
             f"epochs{_schedule_text(cfg.get('lr_schedule'))}"
             f"{_grow_text(cfg.get('grow', 1))}; {report['seconds']:.0f} s. Values in %: "
             f"mean ± standard deviation over folds and seeds. p: paired Wilcoxon signed-rank "
             f"test of ACSA against no oversampling (with {n_pairs} pairs its smallest possible "
             f"value is {2 / 2 ** n_pairs:.3g}). Minus ROS: the paired difference in ACSA to "
             f"random oversampling, mean (standard deviation), ahead / behind in how many of "
             f"the {n_pairs} pairs, and its Wilcoxon p; the same for the recall of the rarest "
             f"classes.")
    text += " Methods: " + "; ".join(f"`{m}`: {describe_method(m)}"
                                     for m in cfg["methods"]) + "."
    rarest = rarest_classes(report["pool_counts"])
    which = ("every class" if len(rarest) == len(report["pool_counts"])
             else "the three classes with the fewest training images"
             + (", and those tied with the third" if len(rarest) > 3 else ""))
    text += (" Recall, rarest: the mean recall of "
             + ", ".join(str(names[c]) if c < len(names) else str(c) for c in rarest)
             + f" ({which}).")
    pooled = next((r["pooled"] for r in report["summary"] if "pooled" in r), None)
    if pooled is not None:
        images = [pooled["test_images_per_class"][c] for c in rarest]
        text += (f" Pooled over the held-out folds, the rarest classes' figures rest on "
                 f"{', '.join(map(str, images))} test images a seed: with so few, one image "
                 f"moves a class's recall by {100 / max(1, min(images)):.0f} points.")
    if report["dataset"].get("classes_without_images"):
        text += (" Classes without images, left out: "
                 + ", ".join(report["dataset"]["classes_without_images"]) + ".")
    if report.get("rest_per_class"):
        text += (" Every image outside the pool: the images no fold trained on"
                 + (", the balanced test set's included" if _primary(report) != "fold" else "")
                 + f", up to {REST_PER_CLASS:,} a class: {report['rest_per_class']} a class.")
    if len(cfg["seeds"]) > 1:
        text += (f" Over seeds: the same, with each seed's {folds} folds averaged first, so "
                 f"the spread is that over the {len(cfg['seeds'])} seeds.")
    return text


def _quality_lines(report: dict) -> list[str]:
    """How new each method's images are, on the first fold of each seed
    (:mod:`deepclsmote.quality`), averaged over the seeds."""
    by_seed = report.get("quality") or {}
    methods = [m for m in report["config"]["methods"]
               if any(m in q for q in by_seed.values())]
    if not methods:
        return []

    def mean(method: str, key: str) -> str:
        values = [q[method]["overall"].get(key) for q in by_seed.values() if method in q]
        values = [v for v in values if v is not None]
        if not values:
            return ""
        value = float(np.mean(values))
        if key in ("near_copy_share", "fidelity", "real_recall"):
            return f"{100 * value:.1f}"
        return f"{value:.0f}" if key == "copies_of_real" else f"{value:.2f}"

    lines = ["", "## How new the oversampled images are", "",
             f"On the first fold of {'each seed' if len(by_seed) > 1 else 'the seed'}, each "
             "method's new images set against the fold's real training images. Near-copies: "
             "closer to a real image of their class than 99 % of the real images are to their "
             "nearest other one. Random oversampling repeats real images, so all of its new "
             "images are near-copies by construction. Fidelity: the share classified as their "
             "class by no oversampling's classifier (its recall on the held-out fold beside "
             "it). Novelty: the median distance to the nearest real image, over the same "
             "among real images; spread: the mean distance between two new images of a "
             "class, over the same among real ones.", "",
             "| method | near-copies, % | fidelity, % | classifier on real images, % | "
             "novelty | spread | copies of real images |", "|---" * 7 + "|"]
    for m in methods:
        lines.append("| " + " | ".join([m] + [mean(m, key) for key in (
            "near_copy_share", "fidelity", "real_recall", "novelty_ratio", "diversity_ratio",
            "copies_of_real")]) + " |")
    return lines


def _tables(report: dict, primary: str) -> list[str]:
    cfg = report["config"]
    per_seed = len(cfg["seeds"]) > 1
    lines: list[str] = []
    order = [primary] + [s for s in ("balanced_test", "rest", "fold") if s != primary]
    for augment in (True, False):
        for split in order:
            rows = [r for r in report["summary"]
                    if r["augment"] == augment and r["split"] == split]
            if not rows:
                continue
            pooled = split == "fold" and all("pooled" in r for r in rows)
            lines += ["", f"## {_SPLITS[split].capitalize()}, classifier "
                      f"{'with' if augment else 'without'} augmentation", "",
                      "| method | " + " | ".join(_HEADERS)
                      + (" | ACSA, pooled | recall, rarest, pooled" if pooled else "")
                      + " | p (ACSA vs none) | minus ROS (sd) | ahead / behind | p (vs ROS) |"
                      + (" over seeds: minus ROS (sd) | seeds ahead / behind |" if per_seed
                         else "")
                      + " recall, rarest: minus ROS (sd) | ahead / behind |"
                      + (" over seeds (sd) | seeds ahead / behind |" if per_seed else ""),
                      "|---" * (len(_HEADERS) + 7 + 4 * per_seed + 2 * pooled) + "|"]
            for r in rows:
                lines.append(f"| {r['method']} | "
                             + " | ".join(_pct(r[c]) for c in _COLUMNS)
                             + (f" | {100 * r['pooled']['acsa']:.1f} | "
                                f"{100 * r['pooled']['rare3_recall']:.1f}" if pooled else "")
                             + f" | {_p(r.get('wilcoxon_vs_none'))} |"
                             + _leads(r.get("vs_ros"), per_seed, with_p=True)
                             + _leads(r.get("rarest_vs_ros"), per_seed, with_p=False))
    return lines


def _schedule_text(schedule: str | None) -> str:
    return ", learning rate annealed along a cosine" if schedule == "cosine" else ""


def _grow_text(grow: float) -> str:
    """The header's words for ``grow`` (nothing at 1, the balanced default)."""
    if grow == 1:
        return ""
    return (f"; every oversampling method grew every class, the largest included, to {grow:g} "
            f"times the largest")


def _p(test: dict | None) -> str:
    return "" if not test or test["p_value"] is None else f"{test['p_value']:.3g}"


def _lead(d: dict | None, *, with_p: bool = True) -> str:
    """Cells of a paired lead over random oversampling: mean (sd), the tally, and its p."""
    if not d:
        return " | | " if with_p else " | "
    cells = (f"{100 * d['mean_diff']:+.2f} ({100 * d['std_diff']:.2f}) | "
             f"{d['ahead']} / {d['behind']}")
    return f"{cells} | {_p(d)}" if with_p else cells


def _leads(d: dict | None, per_seed: bool, *, with_p: bool) -> str:
    """The cells of a lead over folds and, with several seeds, over seeds."""
    cells = f" {_lead(d, with_p=with_p)} |"
    if per_seed:
        cells += f" {_lead((d or {}).get('over_seeds'), with_p=False)} |"
    return cells


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def recall_bars(report: dict, path: Path) -> Path:
    plt = _plt()
    split = _primary(report)
    rows = [r for r in report["summary"] if r["split"] == split]
    settings = sorted({r["augment"] for r in rows})
    classes = report["dataset"]["classes"]
    fig, axes = plt.subplots(1, len(settings), figsize=(6 * len(settings), 3.6), sharey=True,
                             squeeze=False)
    for ax, augment in zip(axes[0], settings, strict=True):
        sel = [r for r in rows if r["augment"] == augment]
        width = 0.8 / max(1, len(sel))
        for i, r in enumerate(sel):
            recall = r.get("pooled", r)["per_class_recall"]
            ax.bar(np.arange(len(classes)) + i * width, recall, width, label=r["method"])
        ax.set_xticks(np.arange(len(classes)) + 0.4 - width / 2)
        ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=7)
        ax.set_title(f"per-class recall, {_SPLITS[split].split(' (')[0]}, "
                     f"{'with' if augment else 'no'} augmentation", fontsize=9)
    axes[0, 0].set_ylabel("recall")
    axes[0, -1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def loss_curves(figures: dict, path: Path) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(1, len(figures), figsize=(4.5 * len(figures), 3.2), squeeze=False)
    for ax, (method, data) in zip(axes[0], figures.items(), strict=True):
        for part in ("loss", "recon", "penalty", "compact", "separation"):
            values = [h[part] for h in data["history"]]
            if any(values):
                ax.plot(range(1, len(values) + 1), values, label=part)
        ax.set_yscale("log")
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latent_projection(figures: dict, classes: list[str], path: Path) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(1, len(figures), figsize=(4.5 * len(figures), 4), squeeze=False)
    for ax, (method, data) in zip(axes[0], figures.items(), strict=True):
        xy, labels = data["pca"], data["pca_labels"]
        ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=4, alpha=0.6)
        c = data["centroids"]
        ax.scatter(c[:, 0], c[:, 1], c=np.unique(labels), cmap="tab10", s=120, marker="X",
                   edgecolors="black")
        ax.set_title(f"{method}: training codes (PCA), centroids ×", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(report: dict, figures: dict, out) -> list[Path]:
    """Write ``report.json``, ``report.md`` and the figures into folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "report.md"]
    written[0].write_text(json.dumps({**report, "glossary": GLOSSARY}, indent=1) + "\n")
    written[1].write_text(markdown(report))
    written.append(recall_bars(report, out / "recall_per_class.png"))
    if figures:
        written.append(loss_curves(figures, out / "loss_curves.png"))
        written.append(latent_projection(figures, report["dataset"]["classes"],
                                         out / "latent_projection.png"))
        for method, data in figures.items():
            (X, y), (Xs, ys) = data["real"], data["synthetic"]
            written.append(real_vs_synthetic_grid(
                out / f"grid_{method}.png", X, y, Xs, ys, data["spec"],
                title=f"{method}: real (left) and synthetic (right) images, first fold",
                names=report["dataset"]["classes"]))
    return written
