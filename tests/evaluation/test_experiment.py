"""The experiment runner, report and command line, end to end on digits (smoke budget)."""

import json

import numpy as np
import pytest

from deepclsmote.cli import main
from deepclsmote.datasets import ImageDataset, load_digits
from deepclsmote.evaluation.experiment import (
    ExperimentConfig,
    combine_reports,
    pool_counts,
    run_experiment,
)


@pytest.fixture(scope="module")
def smoke_report():
    cfg = ExperimentConfig("digits", methods=["none", "ros", "smote", "deepclsmote-paper"],
                           folds=2, seeds=[0], profile="fast", imbalance="paper", device="cpu")
    return run_experiment(cfg, load_digits())


def test_every_method_fold_split_and_augmentation_is_scored(smoke_report):
    report, figures = smoke_report
    runs = report["runs"]
    assert len(runs) == 4 * 2 * 2 * 3  # methods x folds x augmentation x split
    assert {r["split"] for r in runs} == {"fold", "balanced_test", "rest"}
    assert {r["method"] for r in runs} == {"none", "ros", "smote", "deepclsmote-paper"}
    for r in runs:
        assert 0.0 <= r["acsa"] <= 1.0
        assert r["acsa"] == pytest.approx(np.mean(r["per_class_recall"]))
    balanced = [r for r in runs if r["method"] == "ros"]
    assert all(r["train_size"] == balanced[0]["train_size"] for r in balanced)
    unbalanced = [r for r in runs if r["method"] == "none"]
    assert unbalanced[0]["train_size"] < balanced[0]["train_size"]
    assert set(figures) == {"deepclsmote-paper"}
    json.dumps(report)  # the report is JSON-ready


def test_the_rest_split_scores_every_image_outside_the_pool(smoke_report):
    from deepclsmote.evaluation.report import markdown

    report, _ = smoke_report
    data = load_digits()
    pool = report["pool_counts"]
    # every image the pool did not take (the balanced test set's included), class by class
    assert report["rest_per_class"] == (data.counts() - np.array(pool)).tolist()
    for r in report["runs"]:
        rows = np.array(r["confusion_matrix"]).sum(axis=1).tolist()
        if r["split"] == "rest":
            assert rows == report["rest_per_class"]
        elif r["split"] == "balanced_test":
            assert rows == [report["test_per_class"]] * 10
    rest = [r for r in report["summary"] if r["split"] == "rest"]
    assert {r["method"] for r in rest} == set(report["config"]["methods"])
    assert all("vs_ros" in r for r in rest if r["method"] != "ros")
    assert "## Every image outside the pool (imbalanced), classifier with" in markdown(report)


def test_the_rest_split_is_capped_and_left_out_when_it_adds_nothing(monkeypatch):
    from deepclsmote.datasets import ImageDataset
    from deepclsmote.evaluation import imbalance

    labels = np.repeat([0, 1, 2], [5, 8, 3])
    monkeypatch.setattr(imbalance, "REST_PER_CLASS", 2)
    rest = imbalance.rest_split(labels, np.array([0, 5, 13]), random_state=3)
    assert np.bincount(labels[rest]).tolist() == [2, 2, 2]
    assert not set(rest) & {0, 5, 13}
    assert rest.tolist() == imbalance.rest_split(labels, np.array([0, 5, 13]),
                                                 random_state=3).tolist()
    monkeypatch.undo()
    # pool and balanced test set take every image: no third split
    rng = np.random.default_rng(0)
    data = ImageDataset(rng.integers(0, 255, (60, 8, 8), dtype=np.uint8),
                        np.repeat([0, 1, 2], 20), ["a", "b", "c"], name="tiny")
    cfg = ExperimentConfig("tiny", methods=["none"], folds=2, seeds=[0], profile="smoke",
                           imbalance="paper", counts=[10, 10, 10], test_per_class=10,
                           augmentations=[False], device="cpu")
    report, _ = run_experiment(cfg, data)
    assert report["rest_per_class"] is None
    assert {r["split"] for r in report["runs"]} == {"fold", "balanced_test"}


def test_summary_has_spread_and_paired_tests(smoke_report):
    report, _ = smoke_report
    rows = [r for r in report["summary"] if r["split"] == "balanced_test" and not r["augment"]]
    assert [r["method"] for r in rows] == ["none", "ros", "smote", "deepclsmote-paper"]
    assert all(r["acsa"]["n"] == 2 for r in rows)
    assert "wilcoxon_vs_none" not in rows[0] and "wilcoxon_vs_none" in rows[2]


def test_every_method_is_set_against_random_oversampling_pair_by_pair(smoke_report):
    report, _ = smoke_report
    for augment in (True, False):
        runs = [r for r in report["runs"] if r["split"] == "balanced_test"
                and r["augment"] == augment]
        ros = np.array([r["acsa"] for r in runs if r["method"] == "ros"])
        for row in (r for r in report["summary"] if r["split"] == "balanced_test"
                    and r["augment"] == augment):
            if row["method"] == "ros":
                assert "vs_ros" not in row
                continue
            d = np.array([r["acsa"] for r in runs if r["method"] == row["method"]]) - ros
            vs = row["vs_ros"]
            assert vs["mean_diff"] == pytest.approx(d.mean())
            assert vs["std_diff"] == pytest.approx(d.std(ddof=1))
            assert (vs["ahead"], vs["behind"]) == ((d > 1e-9).sum(), (d < -1e-9).sum())
            rarest = report["rarest_classes"]
            rare = {m: np.array([np.mean(np.array(r["per_class_recall"])[rarest])
                                 for r in runs if r["method"] == m])
                    for m in ("ros", row["method"])}
            d = rare[row["method"]] - rare["ros"]
            assert row["rarest_vs_ros"]["mean_diff"] == pytest.approx(d.mean())
            assert row["rarest_vs_ros"]["std_diff"] == pytest.approx(d.std(ddof=1))
    from deepclsmote.evaluation.report import markdown

    text = markdown(report)
    assert ("| minus ROS (sd) | ahead / behind | p (vs ROS) | recall, rarest: minus ROS (sd) "
            "| ahead / behind |") in text
    none_row = next(line for line in text.splitlines() if line.startswith("| none |"))
    assert none_row.count("|") == 13 and none_row.count(" / ") == 2


def test_rarest_recall_is_that_of_the_named_rarest_classes(smoke_report):
    from deepclsmote.evaluation.metrics import rarest_classes
    from deepclsmote.evaluation.report import markdown

    report, _ = smoke_report
    rarest = report["rarest_classes"]
    assert rarest == rarest_classes(report["pool_counts"]) and len(rarest) >= 3
    for row in report["summary"]:
        runs = [r for r in report["runs"] if (r["method"], r["augment"], r["split"])
                == (row["method"], row["augment"], row["split"])]
        want = [np.mean([r["per_class_recall"][c] for c in rarest]) for r in runs]
        assert row["rare3_recall"]["mean"] == pytest.approx(np.mean(want))
    names = ", ".join(str(report["dataset"]["classes"][c]) for c in rarest)
    assert f"Recall, rarest: the mean recall of {names} (the three" in markdown(report)
    two = {**report, "pool_counts": [9, 4], "dataset": {**report["dataset"], "classes": ["a", "b"]}}
    assert "Recall, rarest: the mean recall of b, a (every class)." in markdown(two)


def test_findings_say_plainly_whether_a_method_beats_random_oversampling(smoke_report):
    from deepclsmote.evaluation.experiment import findings

    def lead(mean, sd, n, seeds=None):
        d = {"mean_diff": mean, "std_diff": sd, "n": n, "ahead": 0, "behind": 0}
        return {**d, "over_seeds": {**d, "n": seeds, "seeds": list(range(seeds))}} if seeds else d

    row = {"method": "deepclsmote-paper", "augment": True, "split": "balanced_test"}
    cases = [  # ACSA lead, rarest lead -> verdicts, helps
        (lead(0.02, 0.03, 10, seeds=2), lead(0.02, 0.01, 10, seeds=2), "level", "ahead", False),
        (lead(0.02, 0.01, 10), lead(0.03, 0.02, 10), "ahead", "ahead", True),
        (lead(-0.02, 0.01, 10), lead(0.0, 0.0, 10), "behind", "level", False),
        (lead(0.05, 0.0, 1), lead(0.05, 0.0, 1), "unknown", "unknown", False),
    ]
    for acsa, rare, want_acsa, want_rare, helps in cases:
        [f] = findings([{**row, "vs_ros": acsa, "rarest_vs_ros": rare},
                        {**row, "split": "fold", "vs_ros": acsa, "rarest_vs_ros": rare},
                        {**row, "method": "ros"}])
        assert (f["acsa"]["verdict"], f["rarest_recall"]["verdict"], f["helps"]) == (
            want_acsa, want_rare, helps)
    # over seeds when there are several: the first case's spread is that of the seeds
    [f] = findings([{**row, "vs_ros": cases[0][0], "rarest_vs_ros": cases[0][1]}])
    assert f["acsa"]["over"] == "seeds" and f["text"].startswith(
        "deepclsmote-paper, classifier with augmentation, over 2 seeds: ACSA +2.00 (sd 3.00), "
        "within")
    assert f["text"].endswith("Not shown to help: it has to be ahead in both.")
    # every image outside the pool asks the same question after the balanced test set
    rest, balanced = findings([{**row, "split": "rest", "vs_ros": cases[1][0],
                                "rarest_vs_ros": cases[1][1]},
                               {**row, "vs_ros": cases[0][0], "rarest_vs_ros": cases[0][1]}])[::-1]
    assert (balanced["split"], balanced["helps"], rest["split"], rest["helps"]) == (
        "balanced_test", False, "rest", True)
    assert rest["text"].startswith("deepclsmote-paper, classifier with augmentation, over 10 "
                                   "folds, every image outside the pool: ACSA +2.00 (sd 1.00), "
                                   "ahead")

    report, _ = smoke_report
    ahead = {(r["method"], r["augment"], r["split"]) for r in report["summary"]
             if r["split"] in ("balanced_test", "rest") and "vs_ros" in r}
    assert {(f["method"], f["augment"], f["split"]) for f in report["findings"]} == ahead
    assert [f["split"] for f in report["findings"]] == sorted(
        (f["split"] for f in report["findings"]), key=lambda s: s != "balanced_test")
    from deepclsmote.evaluation.report import markdown

    text = markdown(report)
    assert "## Against random oversampling" in text
    assert all(f"- {f['text']}" in text for f in report["findings"])


def test_pool_counts_keep_the_profile_and_fit():
    data = load_digits()
    cfg = ExperimentConfig("digits", folds=5, profile="cpu", imbalance="paper")
    counts = pool_counts(cfg, data)
    assert counts == sorted(counts, reverse=True)
    assert all(c <= a for c, a in zip(counts, data.counts(), strict=True))
    assert min(counts) >= 7


def test_config_refuses_unknown_methods_and_profiles():
    with pytest.raises(ValueError, match="unknown method"):
        ExperimentConfig("digits", methods=["none", "gan"])
    with pytest.raises(ValueError, match="profile must be one of"):
        ExperimentConfig("digits", profile="huge")
    with pytest.raises(ValueError, match=r"lr_schedule must be one of \['constant', 'cosine'\]"):
        ExperimentConfig("digits", lr_schedule="linear")


def test_evaluate_command_anneals_every_methods_classifier_when_asked(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["evaluate", "--dataset", "digits", "--methods", "none,ros", "--folds", "2",
                 "--profile", "smoke", "--augment", "on", "--device", "cpu",
                 "--lr-schedule", "cosine", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["lr_schedule"] == "cosine"
    assert "learning rate annealed along a cosine" in (out / "report.md").read_text()
    capsys.readouterr()
    assert main(["evaluate", "--dataset", "digits", "--methods", "none", "--profile", "smoke",
                 "--lr-schedule", "step", "--out", str(tmp_path / "bad")]) == 2
    assert "lr_schedule must be one of ['constant', 'cosine']; got 'step'" in (
        capsys.readouterr().err)
    assert not (tmp_path / "bad").exists()


def test_evaluate_command_writes_report_table_and_figures(tmp_path, capsys):
    out = tmp_path / "rep"
    rc = main(["evaluate", "--dataset", "digits", "--methods", "none,ros,deepsmote-paper",
               "--folds", "2", "--profile", "fast", "--imbalance", "paper", "--augment", "off",
               "--device", "cpu", "--out", str(out)])
    assert rc == 0
    names = {p.name for p in out.iterdir()}
    assert {"report.json", "report.md", "recall_per_class.png", "loss_curves.png",
            "latent_projection.png", "grid_deepsmote-paper.png"} <= names
    table = (out / "report.md").read_text()
    assert "| ros |" in table
    assert "`ros`: random oversampling (imbalanced-learn): real images repeated;" in table
    out = capsys.readouterr().out
    assert "done in" in out
    # the plain answer, one line per method and test split, set against random oversampling
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert [(f["method"], f["split"]) for f in report["findings"]] == [
        ("none", "balanced_test"), ("deepsmote-paper", "balanced_test"), ("none", "rest"),
        ("deepsmote-paper", "rest")]
    assert all(f"  {f['text']}\n" in out for f in report["findings"])
    # first the plain answers, one per method, against no oversampling
    assert [a["method"] for a in report["answers"]] == ["ros", "deepsmote-paper"]
    assert out.index(report["answers"][0]["text"]) < out.index(report["findings"][0]["text"])


def test_evaluate_command_sets_the_test_images_per_class(tmp_path, capsys):
    out = tmp_path / "rep"
    rc = main(["evaluate", "--dataset", "digits", "--methods", "none,ros", "--folds", "2",
               "--profile", "smoke", "--imbalance", "paper", "--augment", "on", "--device",
               "cpu", "--test-per-class", "40", "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["test_per_class"] == 40
    assert {r["split"] for r in report["runs"]} == {"fold", "balanced_test", "rest"}
    assert all(sum(r["confusion_matrix"][c]) == 40 for r in report["runs"]
               if r["split"] == "balanced_test" for c in range(10))
    for bad, message in (("0", "test_per_class must be at least 1"),
                         ("500", "keeps 500 of each class for its balanced test set")):
        assert main(["evaluate", "--dataset", "digits", "--methods", "none", "--profile",
                     "smoke", "--imbalance", "paper", "--test-per-class", bad, "--out",
                     str(tmp_path / bad)]) == 2
        assert message in capsys.readouterr().err


def test_combining_reports_of_two_seeds_gives_the_report_of_one_run_over_both(tmp_path, capsys):
    from deepclsmote.evaluation.report import markdown

    def evaluate(seeds, methods, out):
        assert main(["evaluate", "--dataset", "digits", "--methods", methods, "--folds", "2",
                     "--seeds", seeds, "--profile", "fast", "--imbalance", "paper",
                     "--augment", "on", "--device", "cpu", "--out", str(tmp_path / out)]) == 0
        return json.loads((tmp_path / out / "report.json").read_text())

    both = evaluate("0,1", "none,ros", "both")
    s0 = evaluate("0", "none,ros,smote", "s0")       # smote is not in the other report: left out
    s1 = evaluate("1", "ros,none", "s1")
    capsys.readouterr()
    assert main(["combine", str(tmp_path / "s0"), str(tmp_path / "s1" / "report.json"),
                 "--out", str(tmp_path / "c")]) == 0
    assert "left out smote" in capsys.readouterr().out
    combined = json.loads((tmp_path / "c" / "report.json").read_text())
    assert combined["config"]["seeds"] == [0, 1] and combined["config"]["methods"] == ["none",
                                                                                      "ros"]
    assert [c["seeds"] for c in combined["combined_from"]] == [[0], [1]]
    key = lambda r: (r["seed"], r["fold"], r["method"], r["split"])  # noqa: E731
    assert sorted(map(key, combined["runs"])) == sorted(map(key, both["runs"]))
    # the same folds, trained the same way: the same summary, pairs and tests included
    assert combined["summary"] == both["summary"]
    ros = next(r for r in combined["summary"] if r["method"] == "ros"
               and r["split"] == "balanced_test")
    assert ros["wilcoxon_vs_none"]["n"] == 4
    assert {"report.md", "recall_per_class.png"} <= {p.name for p in (tmp_path / "c").iterdir()}
    table = (tmp_path / "c" / "report.md").read_text()
    assert "Pooled from 2 reports" in table
    assert "over seeds: minus ROS (sd) | seeds ahead / behind |" in table
    none = next(r for r in combined["summary"] if r["method"] == "none"
                and r["split"] == "balanced_test")
    over = none["vs_ros"]["over_seeds"]
    assert over["seeds"] == [0, 1] and len(over["mean_diff_per_seed"]) == 2
    row = next(line for line in table.splitlines() if line.startswith("| none |"))
    cells = row.strip("|").split(" | ")
    # ACSA over seeds, then the rarest classes' recall over folds and over seeds
    assert row.count("|") == 17 and cells[-5].strip() == f"{over['ahead']} / {over['behind']}"
    assert cells[-6].strip().startswith(f"{100 * over['mean_diff']:+.2f} (")
    rare = none["rarest_vs_ros"]["over_seeds"]
    assert cells[-1].strip() == f"{rare['ahead']} / {rare['behind']}"
    assert cells[-2].strip().startswith(f"{100 * rare['mean_diff']:+.2f} (")

    for argv, message in (
            ([tmp_path / "s0", tmp_path / "both"], "seed 0 is in report 1 and in report 2"),
            ([tmp_path / "s0", tmp_path / "nowhere"], "nowhere"),
            ([tmp_path / "s0", tmp_path / "s1" / "report.md"], "is not JSON")):
        assert main(["combine", *map(str, argv), "--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err
    # a method the library does not ship (a scouting script's) keeps its name in the table
    scout = [dict(r, config={**r["config"], "methods": ["none", "scout_x3"]},
                  runs=[{**x, "method": x["method"].replace("ros", "scout_x3")} for x in r["runs"]])
             for r in (s0, s1)]
    assert "| scout_x3 | " in markdown(combine_reports(scout))
    older = dict(both, config={**both["config"], "seeds": [7]}, rest_per_class=None)
    with pytest.raises(ValueError, match="differs from report 1 in rest_per_class"):
        combine_reports([both, older])
    cosine = dict(both, config={**both["config"], "lr_schedule": "cosine", "seeds": [7]})
    with pytest.raises(ValueError, match="in lr_schedule: 'cosine' against 'constant'"):
        combine_reports([both, cosine])
    # a report made before the option trained at a constant rate, and pools with one that says so
    before = dict(s1, config={k: v for k, v in s1["config"].items() if k != "lr_schedule"})
    assert combine_reports([s0, before])["config"]["seeds"] == [0, 1]
    other = dict(both, config={**both["config"], "folds": 3, "seeds": [7]})
    with pytest.raises(ValueError, match="differs from report 1 in folds: 3 against 2"):
        combine_reports([both, other])
    with pytest.raises(ValueError, match="report 2 is not an evaluate report.json"):
        combine_reports([both, {"runs": []}])
    no_seeds = dict(both, config={k: v for k, v in both["config"].items() if k != "seeds"})
    with pytest.raises(ValueError, match="report 1 is not an evaluate report.json"):
        combine_reports([no_seeds, both])


def test_reports_of_earlier_versions_combine_and_display(tmp_path, capsys):
    from pathlib import Path

    from deepclsmote.evaluation.report import markdown
    from deepclsmote.recipes import RECIPES

    # two seeds written before recipes, under the old names, as committed with the results
    old = Path(__file__).resolve().parents[2] / "docs" / "data" / "evaluate"
    assert main(["combine", str(old / "mnist_x2_s1.json"), str(old / "mnist_x2_s2.json"),
                 "--out", str(tmp_path / "old")]) == 0
    table = (tmp_path / "old" / "report.md").read_text()
    assert ("`deepclsmote_transfer_wide_x2`: the recommended recipe, every class to twice the "
            "largest (now: grow=2)") in table
    assert "deepclsmote_transfer_wide_x2" in capsys.readouterr().out   # the findings' names

    # a method that is the same under its new name pools with a report made now
    def evaluate(seed):
        assert main(["evaluate", "--dataset", "digits", "--methods", "ros,recommended",
                     "--folds", "2", "--seeds", seed, "--profile", "fast", "--imbalance",
                     "paper", "--augment", "on", "--device", "cpu", "--out",
                     str(tmp_path / seed)]) == 0
        return json.loads((tmp_path / seed / "report.json").read_text())

    now, then = evaluate("0"), evaluate("1")
    then = dict(then, config={**{k: v for k, v in then["config"].items() if k != "grow"},
                              "methods": ["ros", "deepclsmote_transfer_wide"]},
                runs=[{**r, "method": r["method"].replace("recommended",
                                                          "deepclsmote_transfer_wide")}
                      for r in then["runs"]])
    pooled = combine_reports([then, now])
    assert pooled["config"]["methods"] == ["ros", "recommended"]
    assert {(r["method"], r["seed"]) for r in pooled["runs"]} >= {("recommended", 0),
                                                                    ("recommended", 1)}
    assert "`recommended`: " + RECIPES["recommended"].description in markdown(pooled)
    # a report grown otherwise is another protocol: refused, and the message says which setting
    grown = dict(now, config={**now["config"], "grow": 2.0, "seeds": [5]})
    with pytest.raises(ValueError, match="differs from report 1 in grow: 2.0 against 1.0"):
        combine_reports([then, grown])


def test_augmentation_shift_scales_with_the_image():
    from deepclsmote.evaluation.experiment import max_shift_for

    assert [max_shift_for(s) for s in (8, 28, 32, 64)] == [1, 2, 2, 5]


def test_classifier_steps_follow_the_set_and_grow_applies_to_every_oversampler(caplog):
    import re

    from deepclsmote.evaluation.report import markdown

    cfg = ExperimentConfig("digits", methods=["none", "ros", "smote"], folds=2, seeds=[0],
                           profile="smoke", augmentations=[True], device="cpu", grow=2)
    with caplog.at_level("INFO", logger="deepclsmote.evaluation.classifiers"):
        report, _ = run_experiment(cfg, load_digits())
    trained = [tuple(map(int, m.groups())) for m in (
        re.search(r"on (\d+) images .* for (\d+) steps", r.getMessage()) for r in caplog.records)
        if m]
    assert len(trained) == 2 * 3  # folds x methods, in run order
    for fold in (trained[:3], trained[3:]):
        (n_none, s_none), (n_ros, s_ros), (n_smote, s_smote) = fold
        assert n_ros == n_smote > 2 * n_none        # every class, the largest too, grown
        assert n_ros % 10 == 0                      # ten classes of one size
        assert s_ros == s_smote > s_none            # the same epochs: steps follow the set
    assert report["config"]["grow"] == 2.0
    assert "to 2 times the largest" in markdown(report)


@pytest.mark.parametrize("method", ["ros", "smote", "recommended", "deepsmote-paper"])
def test_grow_takes_every_class_to_a_multiple_of_the_largest(small_imbalanced, method):
    from deepclsmote.evaluation.methods import oversample

    X, y = small_imbalanced
    tiny = {"epochs": 1, "dim_h": 4, "n_z": 8, "batch_size": 16, "device": "cpu"}
    X_res, y_res, deep = oversample(method, X, y, sampler_params=tiny, random_state=0, grow=2)
    assert np.bincount(y_res).tolist() == [60, 60, 60] and np.array_equal(X_res[:len(X)], X)
    new = X_res[len(X):][y_res[len(X):] == 0]   # the largest class grows too
    if method == "ros":     # random oversampling repeats the class's own images
        assert all((X[y == 0] == img).all(axis=(1, 2)).any() for img in new)
    elif deep is not None:  # the generator made every class's new images, the largest's too
        assert deep.sampling_strategy_ == {0: 30, 1: 40, 2: 50}


@pytest.mark.parametrize("method", ["recommended", "deepclsmote-paper", "deepsmote-paper"])
def test_each_recipe_balances_with_its_own_settings(small_imbalanced, method):
    from deepclsmote.evaluation.methods import oversample
    from deepclsmote.recipes import RECIPES

    X, y = small_imbalanced
    tiny = {"epochs": 1, "dim_h": 4, "n_z": 8, "batch_size": 16, "device": "cpu"}
    X_res, y_res, deep = oversample(method, X, y, sampler_params=tiny, random_state=0)
    assert np.bincount(y_res).tolist() == [30, 30, 30] and np.array_equal(X_res[:len(X)], X)
    assert type(deep).__name__ == RECIPES[method].estimator
    params = deep.get_params()
    assert all(params[k] == v for k, v in RECIPES[method].params.items())
    assert params["epochs"] == 1   # the experiment's budget reaches every method


def test_old_method_names_are_refused_with_what_became_of_them():
    with pytest.raises(ValueError, match="deepclsmote_transfer_wide is now recommended"):
        ExperimentConfig("digits", methods=["deepclsmote_transfer_wide"])
    with pytest.raises(ValueError, match="now grow=2"):
        ExperimentConfig("digits", methods=["deepclsmote_transfer_wide_x2"])
    for bad in (0.5, 11, "two", None):
        with pytest.raises(ValueError, match="grow is how far oversampling grows"):
            ExperimentConfig("digits", grow=bad)


def test_classes_without_images_are_left_out_and_named(tmp_path, capsys):
    digits = load_digits()
    keep = np.isin(digits.labels, [0, 1, 3])       # "2" and "4".."9" are named but empty
    np.savez(tmp_path / "gap.npz", images=digits.images[keep], labels=digits.labels[keep],
             classes=np.array(digits.classes))
    out = tmp_path / "rep"
    assert main(["evaluate", "--dataset", str(tmp_path / "gap.npz"), "--methods", "ros",
                 "--folds", "2", "--profile", "smoke", "--device", "cpu", "--augment", "on",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"]["classes"] == ["0", "1", "3"]
    assert report["dataset"]["classes_without_images"] == ["2", "4", "5", "6", "7", "8", "9"]
    assert len(report["pool_counts"]) == 3
    assert all(np.array(r["confusion_matrix"]).shape == (3, 3) for r in report["runs"])
    assert "Classes without images, left out: 2, 4, 5, 6, 7, 8, 9." in (
        (out / "report.md").read_text())
    assert "10 classes (7 without images, left out)" in capsys.readouterr().out
    # the service passes the dataset's own counts, one per class named, zeros included
    gap = ImageDataset(digits.images[keep], digits.labels[keep], digits.classes, "gap")
    cfg = ExperimentConfig("gap", methods=["ros"], folds=2, seeds=[0], profile="smoke",
                           counts=gap.counts().tolist(), device="cpu")
    report, _ = run_experiment(cfg, gap)
    assert report["config"]["counts"] == [int(n) for n in gap.counts() if n]
    assert len(report["pool_counts"]) == 3 and report["dataset"]["classes"] == ["0", "1", "3"]
    # a class that holds images, but too few, is still refused by name
    few = np.flatnonzero(digits.labels == 3)[:3]
    np.savez(tmp_path / "few.npz", images=digits.images[np.concatenate(
        [np.flatnonzero(keep & (digits.labels != 3)), few])],
        labels=np.concatenate([digits.labels[keep & (digits.labels != 3)], [3, 3, 3]]))
    capsys.readouterr()
    assert main(["evaluate", "--dataset", str(tmp_path / "few.npz"), "--methods", "ros",
                 "--profile", "smoke", "--imbalance", "paper", "--out",
                 str(tmp_path / "few")]) == 2
    assert "class '3' has 3 images; the papers' protocol keeps" in capsys.readouterr().err
