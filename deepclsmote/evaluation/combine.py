"""Pooling the reports of seeds run apart into the report one command over them all would give."""

from __future__ import annotations

from .config import WIRING_CHECK_PROFILES, ExperimentConfig
from .findings import summaries
from .methods import LEGACY_METHODS

#: What must be equal for two reports' folds to be pooled: the same protocol.
_PROTOCOL = ("pool_counts", "test_per_class", "sampler_epochs", "classifier_epochs",
             "augment_max_shift", "profile")
_PROTOCOL_CONFIG = ("dataset", "folds", "profile", "augmentations", "test_per_class")
#: Protocol settings added later, with the value that reports made before them had.
_PROTOCOL_CONFIG_ADDED = {"lr_schedule": ExperimentConfig.lr_schedule,
                          "grow": ExperimentConfig.grow,
                          "imbalance": "paper"}


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
        "quality": {seed: {m: q for m, q in by_method.items() if m in methods}
                    for r in reports for seed, by_method in r.get("quality", {}).items()},
        **summaries(runs, methods, first["pool_counts"],
                    imbalance=first["config"].get("imbalance", "paper"),
                    wiring_check=first["config"]["profile"] in WIRING_CHECK_PROFILES),
        "combined_from": [{"seeds": r["config"]["seeds"], "methods": r["config"]["methods"],
                           "seconds": r["seconds"], "library_version": r["library_version"]}
                          for r in reports],
    }


__all__ = ["combine_reports"]
