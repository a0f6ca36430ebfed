"""The tables of docs/results.md, from the committed evaluate reports.

Each report is pooled over its seeds with the library's own ``combine`` (one
file, or several of one protocol), then printed as a Markdown table: per
method, with an augmented classifier, ACSA and the rarest classes' recall on
the test split, and the paired lead over random oversampling with its spread.

    .venv/bin/python bench/results_tables.py docs/data/evaluate/recipes_mnist_s*.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deepclsmote.evaluation.combine import combine_reports
from deepclsmote.evaluation.findings import PRIMARY_SPLIT

SPLITS = {"balanced_test": "balanced test set", "rest": "every image outside the pool",
          "fold": "held-out folds, pooled"}


def _lead(d: dict | None) -> str:
    if not d:
        return ""
    d = d.get("over_seeds", d)
    over = "seeds" if "seeds" in d else "folds"
    return (f"{100 * d['mean_diff']:+.2f} (sd {100 * d['std_diff']:.2f}; ahead in "
            f"{d['ahead']} of {d['n']} {over})")


def table(report: dict) -> str:
    primary = PRIMARY_SPLIT[report["config"].get("imbalance", "paper")]
    names = report["dataset"]["classes"]
    rarest = ", ".join(str(names[c]) for c in report["rarest_classes"])
    out = [f"Seeds {report['config']['seeds']}, {report['config']['folds']} folds, "
           f"pool {report['pool_counts']}; rarest classes: {rarest}.", ""]
    for split in [primary, "rest"]:
        rows = [r for r in report["summary"] if r["split"] == split and r["augment"]]
        if not rows:
            continue
        pooled = split == "fold"
        out += [f"{SPLITS[split].capitalize()}, augmented classifier:", "",
                "| method | ACSA | recall, rarest | ACSA minus ROS | rarest minus ROS |",
                "|---|---|---|---|---|"]
        for r in rows:
            acsa = (f"{100 * r['pooled']['acsa']:.1f}" if pooled else
                    f"{100 * r['acsa']['mean']:.1f} ± {100 * r['acsa']['std']:.1f}")
            rare = (f"{100 * r['pooled']['rare3_recall']:.1f}" if pooled else
                    f"{100 * r['rare3_recall']['mean']:.1f}")
            out.append(f"| {r['method']} | {acsa} | {rare} | {_lead(r.get('vs_ros'))} | "
                       f"{_lead(r.get('rarest_vs_ros'))} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports", nargs="+", type=Path)
    args = p.parse_args(argv)
    reports = [json.loads(path.read_text()) for path in args.reports]
    print(table(combine_reports(reports) if len(reports) > 1 else reports[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
