"""The user's-data protocol on tiny classes, its refusals, and the plain answers."""

import json

import numpy as np
import pytest

from deepclsmote.cli import main
from deepclsmote.datasets import ImageDataset, load_digits
from deepclsmote.evaluation.config import ExperimentConfig
from deepclsmote.evaluation.findings import answers
from deepclsmote.evaluation.protocol import class_warnings, plan

#: A letters-like profile, as users bring it: 500 images of the largest class down to 2.
COUNTS = [60, 40, 25, 12, 8, 6, 4, 3, 2, 2]


def _digits_with(counts):
    digits = load_digits()
    keep = np.concatenate([np.flatnonzero(digits.labels == c)[:n]
                           for c, n in enumerate(counts)])
    return ImageDataset(digits.images[keep], digits.labels[keep], digits.classes, "tiny")


@pytest.fixture(scope="module")
def tiny_report():
    cfg = ExperimentConfig("tiny", methods=["none", "ros", "recommended"], folds=5, seeds=[0],
                           profile="fast", augmentations=[True], device="cpu")
    steps = []
    report, _ = run(cfg, _digits_with(COUNTS), lambda *a: steps.append(a))
    return report, steps


def run(cfg, data, progress=None):
    from deepclsmote.evaluation.experiment import run_experiment

    return run_experiment(cfg, data, progress)


def test_a_class_of_two_is_evaluated_on_held_out_folds_pooled(tiny_report):
    report, _ = tiny_report
    assert report["pool_counts"] == COUNTS and report["folds_used"] == 2  # capped by 2 images
    assert {r["split"] for r in report["runs"]} == {"fold"}    # no balanced test set, no rest
    for row in report["summary"]:
        pooled = row["pooled"]
        # every image of the pool tested once: the folds' confusion matrices summed
        assert pooled["test_images_per_class"] == COUNTS
        runs = [r for r in report["runs"] if r["method"] == row["method"]]
        matrix = np.sum([r["confusion_matrix"] for r in runs], axis=0)
        assert pooled["per_class_recall"] == pytest.approx(
            (np.diag(matrix) / matrix.sum(axis=1)).tolist())
        assert pooled["acsa"] == pytest.approx(np.mean(pooled["per_class_recall"]))


def test_the_answer_is_one_sentence_per_method_against_no_oversampling(tiny_report):
    from deepclsmote.evaluation.report import markdown

    report, _ = tiny_report
    assert [a["method"] for a in report["answers"]] == ["ros", "recommended"]
    none = next(r for r in report["summary"] if r["method"] == "none")
    ros = next(r for r in report["summary"] if r["method"] == "ros")
    rec = next(a for a in report["answers"] if a["method"] == "recommended")
    row = next(r for r in report["summary"] if r["method"] == "recommended")
    assert rec["text"].startswith(
        f"On your data, recommended changed average per-class accuracy from "
        f"{100 * none['pooled']['acsa']:.1f} % (no oversampling) to "
        f"{100 * row['pooled']['acsa']:.1f} % and the rarest classes' recall from "
        f"{100 * none['pooled']['rare3_recall']:.1f} % to "
        f"{100 * row['pooled']['rare3_recall']:.1f} %; random oversampling gave "
        f"{100 * ros['pooled']['acsa']:.1f} %. Verdict: ")
    assert rec["verdict"] in ("helps", "no clear difference", "hurts")
    text = markdown(report)
    assert text.index("## The answer") < text.index("## What was run")
    assert "rest on 2, 2, 3 test images a seed" in text      # the rarest classes' figures
    assert "in 2 stratified folds (5 asked for; the smallest class, 2 images, allows 2)" in text
    assert "## Glossary" in text and "- **ACSA**: average class-specific accuracy" in text


def test_progress_estimates_the_time_left_from_the_steps_done(tiny_report):
    _, steps = tiny_report
    assert [s[1] for s in steps] == list(range(1, 7)) and {s[2] for s in steps} == {6}
    assert [s[0].split()[-1] for s in steps[:3]] == ["none", "ros", "recommended"]
    assert all(s[3] is not None and s[3] > 0 for s in steps[:-1]) and steps[-1][3] == 0


def test_the_clock_counts_each_method_at_its_own_pace():
    from deepclsmote.evaluation.experiment import _Clock

    clock = _Clock(["none", "deep", "none", "deep"])
    assert clock.done("none", 1.0) == pytest.approx(3 * 1.0)   # deep not seen: the slowest
    assert clock.done("deep", 9.0) == pytest.approx(1.0 + 9.0)
    assert clock.done("none", 3.0) == pytest.approx(9.0)
    assert clock.done("deep", 7.0) == 0


@pytest.mark.parametrize(("verdicts", "want"), [
    (((0.05, 0.01), (0.02, 0.05)), "helps"),
    (((0.05, 0.01), (-0.10, 0.02)), "no clear difference"),
    (((-0.05, 0.01), (0.0, 0.0)), "hurts"),
    (((0.0, 0.02), (-0.10, 0.02)), "hurts"),
    (((0.01, 0.05), (0.01, 0.05)), "no clear difference"),
])
def test_the_verdict_follows_the_spread_rule(verdicts, want):
    (acsa, acsa_sd), (rare, rare_sd) = verdicts

    def lead(mean, sd):
        return {"mean_diff": mean, "std_diff": sd, "n": 4, "ahead": 0, "behind": 0}

    def row(method, **extra):
        return {"method": method, "augment": True, "split": "fold",
                "acsa": {"mean": 0.5}, "rare3_recall": {"mean": 0.2}, **extra}

    summary = [row("none"), row("ros", vs_none=lead(0, 0), rarest_vs_none=lead(0, 0)),
               row("recommended", vs_none=lead(acsa, acsa_sd),
                   rarest_vs_none=lead(rare, rare_sd))]
    [_, rec] = answers(summary, "fold")
    assert rec["verdict"] == want
    assert rec["text"].endswith(".") and f"Verdict: {want}, because " in rec["text"]


def test_a_smoke_run_is_a_wiring_check_that_names_no_verdict(tmp_path, capsys):
    from deepclsmote.datasets import load_digits_imbalanced

    data = load_digits_imbalanced()
    np.savez(tmp_path / "d.npz", images=data.images, labels=data.labels)
    assert main(["evaluate", "--dataset", str(tmp_path / "d.npz"), "--methods",
                 "none,ros,recommended", "--folds", "2", "--profile", "smoke", "--augment",
                 "on", "--device", "cpu", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["wiring_check"] and report["answers"] == [] and report["findings"] == []
    assert "wiring check (profile smoke)" in out and "Verdict" not in out
    text = (tmp_path / "r" / "report.md").read_text()
    assert text.startswith("# Evaluation: d\n\n**Wiring check, not a result.**")
    assert "Verdict" not in text and "Against random oversampling" not in text


def test_what_cannot_be_evaluated_is_refused_with_the_class_the_minimum_and_the_fix():
    names = [f"c{i}" for i in range(4)]
    ok = ExperimentConfig("x", methods=["none", "ros", "recommended"])
    assert plan(ok, [30, 10, 3, 2], names=names).folds == 2
    with pytest.raises(ValueError, match="class 'c3' has 1 image; evaluating needs at least 2 "
                                         "of every class .one to train on, one to test."):
        plan(ok, [30, 10, 3, 1], names=names)
    smote = ExperimentConfig("x", methods=["none", "smote", "deepsmote-paper"])
    with pytest.raises(ValueError, match="class 'c3' has 2 images; smote, deepsmote-paper make "
                                         "a class's new images from two of its own training "
                                         "images, .* need 3 of every class: leave them out of "
                                         "methods"):
        plan(smote, [30, 10, 3, 2], names=names)
    assert plan(smote, [30, 10, 3, 3], names=names).folds == 3
    paper = ExperimentConfig("x", methods=["none", "ros"], imbalance="paper")
    with pytest.raises(ValueError, match="class 'c3' has 6 images; the papers' protocol .* use "
                                         "imbalance 'dataset'"):
        plan(paper, [300, 100, 30, 6], names=names)
    with pytest.raises(ValueError, match="test_per_class sets the papers' balanced test set"):
        ExperimentConfig("x", test_per_class=3)


def test_a_large_dataset_is_capped_to_the_profile_keeping_small_classes_whole():
    cfg = ExperimentConfig("x", methods=["none", "ros"], profile="cpu")
    p = plan(cfg, [5000, 3000, 40, 7])
    assert sum(p.pool_counts) <= 1800 + 20 and p.pool_counts[2:] == [10, 7]
    assert p.pool_counts[0] > p.pool_counts[1] > 10


def test_upload_warnings_name_what_a_small_class_cannot_be_used_for():
    assert class_warnings([50, 3], ["a", "b"]) == []
    [two, one] = class_warnings([50, 2, 1], ["a", "b", "c"])
    assert two.startswith("class 'b' has 2 images: too few to evaluate smote and the paper")
    assert one.startswith("class 'c' has 1 image: too few to evaluate (2 are needed")


def test_the_report_says_how_new_each_methods_images_are(tiny_report):
    from deepclsmote.evaluation.report import markdown

    report, _ = tiny_report
    quality = report["quality"]["0"]        # the first fold of seed 0
    assert set(quality) == {"ros", "recommended"}   # no oversampling makes no new images
    ros = quality["ros"]["overall"]
    assert ros["near_copy_share"] == 1.0 and ros["copies_of_real"] == ros["n_synthetic"]
    assert 0 <= ros["fidelity"] <= 1 and ros["real_recall"] is not None
    assert "novelty_ratio" in quality["recommended"]["overall"]
    text = markdown(report)
    assert "## How new the oversampled images are" in text
    assert "all of its new images are near-copies by construction" in text
    assert "| ros | 100.0 |" in text
