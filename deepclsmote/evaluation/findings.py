"""What a report concludes: summaries per method, findings against random oversampling, and
one plain sentence per method for someone who is not an expert.

Every comparison is paired: two methods' scores on the same seed and fold
(the same training part and test images). A lead counts only when it is
larger than its own spread (over seeds when there are two or more, each
seed's folds averaged first; else over single folds).
"""

from __future__ import annotations

import numpy as np

from . import metrics

#: The test split each protocol's plain answers are read on, then the split of every image
#: outside the pool when the report has it.
PRIMARY_SPLIT = {"dataset": "fold", "paper": "balanced_test"}


def summaries(runs: list[dict], methods: list[str], counts: list[int], *, imbalance: str,
              wiring_check: bool) -> dict:
    """A report's derived parts: the rarest classes, the summary rows, the findings against
    random oversampling and the plain answers. A wiring check (``smoke``) states neither
    findings nor answers: its figures show that the pipeline runs, nothing more."""
    rarest = metrics.rarest_classes(counts)
    summary = summarise_runs(runs, methods, rarest=rarest)
    primary = PRIMARY_SPLIT[imbalance]
    return {"rarest_classes": rarest, "summary": summary,
            "findings": [] if wiring_check else findings(summary, primary),
            "answers": [] if wiring_check else answers(summary, primary)}


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
    ``rarest_vs_ros`` is the same for the recall of the rarest classes;
    ``vs_none`` and ``rarest_vs_none`` the same against no oversampling.
    Pairs are matched by (seed, fold). On the held-out folds, ``pooled``
    holds ACSA and per-class recall over every held-out image (each seed's
    folds' confusion matrices summed) and how many test images each class had.
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
            if split == "fold":
                row["pooled"] = _pooled(rs, rarest)
            if base and method != "none" and _pairs(base_runs) == _pairs(rs):
                seeds = [r["seed"] for r in rs]
                row["wilcoxon_vs_none"] = metrics.paired_wilcoxon([r["acsa"] for r in rs], base)
                row["vs_none"] = paired_difference([r["acsa"] for r in rs], base, seeds=seeds)
                row["rarest_vs_none"] = paired_difference(
                    _rarest_recall(rs, rarest), _rarest_recall(base_runs, rarest), seeds=seeds)
            if ros and method != "ros" and _pairs(ros_runs) == _pairs(rs):
                seeds = [r["seed"] for r in rs]
                row["vs_ros"] = paired_difference([r["acsa"] for r in rs], ros, seeds=seeds)
                row["rarest_vs_ros"] = paired_difference(
                    _rarest_recall(rs, rarest), _rarest_recall(ros_runs, rarest), seeds=seeds)
            out.append(row)
    return out


def findings(summary: list[dict], primary: str = "balanced_test") -> list[dict]:
    """Per method, augmentation and test split: is it ahead of random oversampling?

    For ACSA and for the rarest classes' recall, the paired lead over random
    oversampling is set against its own spread: over seeds when there are two
    or more (each seed's folds averaged first), else over single folds.
    ``"ahead"`` means ahead by more than that standard deviation, ``"behind"``
    behind by more, ``"level"`` within it, and ``"unknown"`` one pair, no
    spread to judge by. ``helps`` is true only when both are ahead.

    The ``primary`` test split's findings come first (the held-out folds,
    ``"fold"``, for a user's data; the balanced test set for the papers'
    protocol); those of every image outside the pool (``split == "rest"``),
    where the report has that split, follow.
    """
    out = []
    for row in sorted(summary, key=lambda r: r["split"] != primary):
        if row["split"] not in (primary, "rest") or "vs_ros" not in row:
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
    where = {"rest": ", every image outside the pool",
             "fold": ", held-out folds"}.get(f.get("split", ""), "")
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


def answers(summary: list[dict], split: str) -> list[dict]:
    """One sentence per method that someone who is not an expert can act on.

    Read on ``split`` (the protocol's primary test split), with the augmented
    classifier where the report has one: how the method changed average
    per-class accuracy and the rarest classes' recall against no
    oversampling, what random oversampling gave, and a verdict. The verdict
    follows the spread rule of :func:`findings`, against no oversampling:
    ``"helps"`` when average per-class accuracy is ahead by more than its
    spread and the rarest classes' recall is not behind by more than its own;
    ``"hurts"`` when either is behind by more than its spread and accuracy is
    not ahead; ``"no clear difference"`` otherwise. Empty without ``none``.
    """
    rows = [r for r in summary if r["split"] == split]
    augment = any(r["augment"] for r in rows)
    rows = [r for r in rows if r["augment"] == augment]
    by_method = {r["method"]: r for r in rows}
    if "none" not in by_method:
        return []
    none, ros = by_method["none"], by_method.get("ros")
    out = []
    for row in rows:
        if row["method"] == "none" or "vs_none" not in row:
            continue
        acsa = _over(row["vs_none"])
        rare = _over(row["rarest_vs_none"])
        verdict, because = _plain_verdict(acsa, rare)
        name = "random oversampling (ros)" if row["method"] == "ros" else row["method"]
        text = (f"On your data, {name} changed average per-class accuracy from "
                f"{_figure(none, 'acsa')} % (no oversampling) to {_figure(row, 'acsa')} % and "
                f"the rarest classes' recall from {_figure(none, 'rare3_recall')} % to "
                f"{_figure(row, 'rare3_recall')} %")
        if ros is not None and row["method"] != "ros":
            text += f"; random oversampling gave {_figure(ros, 'acsa')} %"
        text += f". Verdict: {verdict}, because {because}."
        out.append({"method": row["method"], "augment": augment, "split": split,
                    "verdict": verdict, "text": text})
    return out


def _over(lead: dict) -> dict:
    """The lead over seeds when there are several, else over single folds, with its verdict."""
    chosen = lead.get("over_seeds", lead)
    return {**chosen, "over": "seeds" if "seeds" in chosen else "folds",
            "verdict": _verdict(chosen)}


def _figure(row: dict, key: str) -> str:
    """A method's figure in %: pooled over folds where the report pooled it."""
    value = row.get("pooled", {}).get(key, row[key]["mean"] if isinstance(row[key], dict)
                                      else row[key])
    return f"{100 * value:.1f}"


def _plain_verdict(acsa: dict, rare: dict) -> tuple[str, str]:
    """``(verdict, reason)`` against no oversampling, in words."""
    # the lead is read fold by fold (or seed by seed), so its mean can differ a little from
    # the difference of the pooled figures the sentence starts with; the words say which
    each = "a fold" if acsa["over"] == "folds" else "a seed"
    spread = f"its spread over {acsa['n']} {acsa['over']}"
    if acsa["verdict"] == "unknown":
        return ("no clear difference", "one fold and one seed give no spread to judge by; "
                                       "run more folds or seeds")
    rise = f"{100 * abs(acsa['mean_diff']):.1f} points {each} on average"
    if acsa["verdict"] == "ahead" and rare["verdict"] != "behind":
        return "helps", (f"average per-class accuracy rose by {rise}, more than {spread} "
                         f"({100 * acsa['std_diff']:.1f}), and the rarest classes' recall did "
                         f"not fall by more than its own")
    if acsa["verdict"] == "behind":
        return "hurts", (f"average per-class accuracy fell by {rise}, more than {spread} "
                         f"({100 * acsa['std_diff']:.1f})")
    if rare["verdict"] == "behind":
        return ("hurts" if acsa["verdict"] != "ahead" else "no clear difference",
                f"the rarest classes' recall fell by {100 * abs(rare['mean_diff']):.1f} points "
                f"{each} on average, more than its spread ({100 * rare['std_diff']:.1f})"
                + (", though average per-class accuracy rose" if acsa["verdict"] == "ahead"
                   else ""))
    return "no clear difference", (f"average per-class accuracy moved by "
                                   f"{100 * acsa['mean_diff']:+.1f} points {each} on average, "
                                   f"within {spread} ({100 * acsa['std_diff']:.1f})")


def _pooled(runs: list[dict], rarest: list[int]) -> dict:
    """Per-class recall of every held-out image, each seed's folds' confusion matrices summed
    (every image of the pool tested once per seed), then averaged over seeds."""
    per_seed: dict[int, np.ndarray] = {}
    for r in runs:
        m = np.asarray(r["confusion_matrix"])
        per_seed[r["seed"]] = per_seed[r["seed"]] + m if r["seed"] in per_seed else m
    recalls = [np.diag(m) / m.sum(axis=1) for m in per_seed.values()]
    recall = np.mean(recalls, axis=0)
    first = next(iter(per_seed.values()))
    return {"acsa": float(recall.mean()), "per_class_recall": recall.tolist(),
            "rare3_recall": float(recall[rarest].mean()),
            "test_images_per_class": first.sum(axis=1).astype(int).tolist(),
            "seeds": len(per_seed)}


def _rarest_recall(runs: list[dict], rarest: list[int]) -> list[float]:
    """Each run's mean recall over the classes ``rarest``."""
    return np.array([r["per_class_recall"] for r in runs])[:, rarest].mean(axis=1).tolist()


def _pairs(runs: list[dict]) -> list[tuple[int, int]]:
    """The (seed, fold) of each run: two methods' runs pair when these are equal."""
    return [(r["seed"], r["fold"]) for r in runs]


def paired_difference(a: list[float], b: list[float], seeds: list[int] | None = None) -> dict:
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
                             **paired_difference(a_seed, b_seed)}
    return out




__all__ = ["PRIMARY_SPLIT", "answers", "findings", "summarise_runs", "summaries"]
