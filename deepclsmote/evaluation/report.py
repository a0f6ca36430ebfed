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


def markdown(report: dict) -> str:
    """Tables per split and augmentation, methods as rows, mean ± std over folds (in %)."""
    cfg = report["config"]
    n_pairs = cfg["folds"] * len(cfg["seeds"])
    lines = [
        f"# Evaluation: {report['dataset']['name']}",
        "",
        f"Profile `{cfg['profile']}`, {cfg['folds']} folds, seeds {cfg['seeds']}, pool class "
        f"counts {report['pool_counts']}, balanced test set of {report['test_per_class']} per "
        f"class; autoencoder {report['sampler_epochs']} epochs, classifier "
        f"{report['classifier_epochs']} epochs"
        f"{', learning rate annealed along a cosine' if cfg.get('lr_schedule') == 'cosine' else ''}"
        f"{_grow_text(cfg.get('grow', 1))}"
        f"; {report['seconds']:.0f} s. Values in %: "
        f"mean ± standard deviation over folds and seeds. p: paired Wilcoxon signed-rank "
        f"test of ACSA against no oversampling (with {n_pairs} pairs its smallest possible "
        f"value is {2 / 2 ** n_pairs:.3g}). Minus ROS: the paired difference in ACSA to random "
        f"oversampling, mean (standard deviation), ahead / behind in how many of the "
        f"{n_pairs} pairs, and its Wilcoxon p; the same for the recall of the rarest classes.",
    ]
    rarest = rarest_classes(report["pool_counts"])
    names = report["dataset"]["classes"]
    which = ("every class" if len(rarest) == len(report["pool_counts"])
             else "the three classes with the fewest training images"
             + (", and those tied with the third" if len(rarest) > 3 else ""))
    lines[-1] += (" Recall, rarest: the mean recall of "
                  + ", ".join(str(names[c]) if c < len(names) else str(c) for c in rarest)
                  + f" ({which}).")
    if report["dataset"].get("classes_without_images"):
        lines[-1] += (" Classes without images, left out: "
                      + ", ".join(report["dataset"]["classes_without_images"]) + ".")
    if report.get("rest_per_class"):
        lines[-1] += (" Every image outside the pool: the images no fold trained on, the "
                      f"balanced test set's included, up to {REST_PER_CLASS:,} a class: "
                      f"{report['rest_per_class']} a class.")
    per_seed = len(cfg["seeds"]) > 1
    if per_seed:
        lines[-1] += (f" Over seeds: the same, with each seed's {cfg['folds']} folds averaged "
                      f"first, so the spread is that over the {len(cfg['seeds'])} seeds.")
    if report.get("combined_from"):
        parts = "; ".join(f"seeds {c['seeds']} in {c['seconds']:.0f} s"
                          for c in report["combined_from"])
        lines += ["", f"Pooled from {len(report['combined_from'])} reports ({parts}); the "
                  f"time above is their sum."]
    if report.get("findings"):
        lines += ["", "## Against random oversampling", "",
                  "On the balanced test set, each method's paired lead over random oversampling "
                  "set against its spread (over seeds when there are several)"
                  + ("; then the same on every image outside the pool:"
                     if any(f.get("split") == "rest" for f in report["findings"]) else ":"),
                  ""]
        lines += [f"- {f['text']}" for f in report["findings"]]
    splits = {"balanced_test": "balanced test set",
              "rest": "every image outside the pool (imbalanced)",
              "fold": "held-out fold (imbalanced)"}
    for augment in (True, False):
        for split, title in splits.items():
            rows = [r for r in report["summary"]
                    if r["augment"] == augment and r["split"] == split]
            if not rows:
                continue
            lines += ["", f"## {title}, classifier {'with' if augment else 'without'} "
                      f"augmentation", "",
                      "| method | " + " | ".join(_HEADERS)
                      + " | p (ACSA vs none) | minus ROS (sd) | ahead / behind | p (vs ROS) |"
                      + (" over seeds: minus ROS (sd) | seeds ahead / behind |" if per_seed
                         else "")
                      + " recall, rarest: minus ROS (sd) | ahead / behind |"
                      + (" over seeds (sd) | seeds ahead / behind |" if per_seed else ""),
                      "|---" * (len(_HEADERS) + 7 + 4 * per_seed) + "|"]
            for r in rows:
                lines.append(f"| {describe_method(r['method'])} | "
                             + " | ".join(_pct(r[c]) for c in _COLUMNS)
                             + f" | {_p(r.get('wilcoxon_vs_none'))} |"
                             + _leads(r.get("vs_ros"), per_seed, with_p=True)
                             + _leads(r.get("rarest_vs_ros"), per_seed, with_p=False))
    return "\n".join(lines) + "\n"


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
    rows = [r for r in report["summary"] if r["split"] == "balanced_test"]
    settings = sorted({r["augment"] for r in rows})
    classes = report["dataset"]["classes"]
    fig, axes = plt.subplots(1, len(settings), figsize=(6 * len(settings), 3.6), sharey=True,
                             squeeze=False)
    for ax, augment in zip(axes[0], settings, strict=True):
        sel = [r for r in rows if r["augment"] == augment]
        width = 0.8 / max(1, len(sel))
        for i, r in enumerate(sel):
            ax.bar(np.arange(len(classes)) + i * width, r["per_class_recall"], width,
                   label=r["method"])
        ax.set_xticks(np.arange(len(classes)) + 0.4 - width / 2)
        ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=7)
        ax.set_title(f"per-class recall, balanced test, {'with' if augment else 'no'} "
                     f"augmentation", fontsize=9)
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
    written[0].write_text(json.dumps(report, indent=1) + "\n")
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
                title=f"{method}: real (left) and synthetic (right) images, first fold"))
    return written
