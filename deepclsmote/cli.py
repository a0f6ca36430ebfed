"""The command line: ``deepclsmote demo``, ``resample``, ``evaluate`` and ``combine``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import __version__
from .datasets.builtin import DIGITS_IMBALANCED_COUNTS
from .evaluation.config import PROFILES
from .evaluation.imbalance import MNIST_TEST_COUNTS
from .evaluation.methods import DEFAULT_METHODS, METHODS
from .generation import DECODINGS, INTERPOLATIONS
from .recipes import DEFAULT_RECIPE, RECIPES, make_sampler

# DeepSMOTE's MNIST class counts scaled down to fit small pools.
DEMO_COUNTS = {
    "digits": DIGITS_IMBALANCED_COUNTS,
    "mnist": MNIST_TEST_COUNTS,
}


def _load_demo_data(name: str, data_dir: str | None):
    from .datasets import load_digits_images, load_idx_pair

    if name == "digits":
        return load_digits_images()
    root = Path(data_dir or "../shared/data/mnist")
    return load_idx_pair(root / "t10k-images-idx3-ubyte.gz", root / "t10k-labels-idx1-ubyte.gz")


def _progress(epoch: int, epochs: int, parts: dict) -> None:
    width = 30
    done = int(width * epoch / epochs)
    bar = "#" * done + "." * (width - done)
    print(f"\r  training [{bar}] {epoch}/{epochs}  loss {parts['loss']:.4f} "
          f"(recon {parts['recon']:.4f})", end="\n" if epoch == epochs else "", flush=True)


#: The sampler options of ``demo`` and ``resample``: unset ones keep the recipe's value.
_SAMPLER_OPTIONS = ("epochs", "batch_size", "dim_h", "n_z", "decoding", "interpolation",
                    "step_scale", "foreground_margin", "train_shift")


def _make_sampler(args, callback):
    overrides = {k: getattr(args, k) for k in _SAMPLER_OPTIONS if getattr(args, k) is not None}
    return make_sampler(args.recipe, **overrides, random_state=args.seed, device=args.device,
                        callback=callback)


def cmd_demo(args) -> int:
    from imblearn.datasets import make_imbalance

    from .figures import real_vs_synthetic_grid

    X, y = _load_demo_data(args.dataset, args.data_dir)
    counts = dict(enumerate(DEMO_COUNTS[args.dataset]))
    flat, y_imb = make_imbalance(X.reshape(len(X), -1), y, sampling_strategy=counts,
                                 random_state=args.seed)
    X_imb = flat.reshape(-1, *X.shape[1:])
    print(f"{args.dataset}: {len(y_imb)} images {X.shape[1:]}, imbalanced class counts "
          f"{dict(sorted(Counter(y_imb.tolist()).items()))}")
    sampler = _make_sampler(args, _progress)
    start = time.perf_counter()
    X_res, y_res = sampler.fit_resample(X_imb, y_imb)
    seconds = time.perf_counter() - start
    X_syn, y_syn = X_res[len(y_imb):], y_res[len(y_imb):]
    print(f"balanced in {seconds:.1f} s on {sampler.device_}: "
          f"{dict(sorted(Counter(y_res.tolist()).items()))} ({len(y_syn)} synthetic)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = real_vs_synthetic_grid(
        out / "grid.png", X_imb, y_imb, X_syn, y_syn, sampler.image_spec_,
        title=f"{args.recipe} on imbalanced {args.dataset}: real (left), "
              f"synthetic (right)",
    )
    np.savez_compressed(out / "resampled.npz", images=X_res, labels=y_res)
    sampler.save(out / "model")
    summary = {"dataset": args.dataset, "seconds": round(seconds, 2),
               "counts_before": {int(k): int(v) for k, v in Counter(y_imb.tolist()).items()},
               "counts_after": {int(k): int(v) for k, v in Counter(y_res.tolist()).items()},
               "final_loss": sampler.history_[-1]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {grid}, {out / 'resampled.npz'} and the model in {out / 'model'}")
    return 0


def cmd_resample(args) -> int:
    with np.load(args.input, allow_pickle=False) as data:
        keys = set(data.files)
        xk = "images" if "images" in keys else "X"
        yk = "labels" if "labels" in keys else "y"
        if xk not in keys or yk not in keys:
            raise SystemExit(f"{args.input} needs arrays 'images' and 'labels' (or 'X' and 'y').")
        X, y = data[xk], data[yk]
    sampler = _make_sampler(args, _progress)
    X_res, y_res = sampler.fit_resample(X, y)
    np.savez_compressed(args.out, images=X_res, labels=y_res)
    if args.model:
        sampler.save(args.model)
    print(f"wrote {args.out}: {dict(sorted(Counter(y_res.tolist()).items()))}")
    return 0


def cmd_evaluate(args) -> int:
    from .datasets import load_dataset
    from .evaluation.experiment import ExperimentConfig, run_experiment
    from .evaluation.report import write_report

    options = {k: v for k, v in (("split", args.split), ("subset", args.subset),
                                 ("fit", args.fit), ("mode", args.mode)) if v is not None}
    if args.size is not None:   # "32x32"; the loader checks the pair
        options["size"] = tuple(args.size.lower().split("x"))
    data = load_dataset(args.dataset, args.data_dir, **options)
    cfg = ExperimentConfig(
        dataset=data.name, methods=[m.strip() for m in args.methods.split(",") if m.strip()],
        folds=args.folds, seeds=[int(s) for s in args.seeds.split(",")],
        profile=args.profile, device=args.device, test_per_class=args.test_per_class,
        augmentations=[False, True] if args.augment == "both" else [args.augment == "on"],
        lr_schedule=args.lr_schedule, grow=args.grow, imbalance=args.imbalance,
        counts=_counts(args.counts),
    )
    empty = int((data.counts() == 0).sum())
    print(f"{data.name}: {len(data)} images {data.images.shape[1:]}, {len(data.classes)} classes"
          f"{f' ({empty} without images, left out)' if empty else ''}; "
          f"profile {cfg.profile}, {cfg.folds} folds, seeds {cfg.seeds}"
          f"{f', every class grown to {cfg.grow:g} x the largest' if cfg.grow != 1 else ''}")

    if cfg.wiring_check:
        print(f"  {WIRING_CHECK_LINE}")

    def progress(what: str, done: int, total: int, seconds_left: float | None) -> None:
        width = 30
        bar = "#" * (width * done // total) + "." * (width - width * done // total)
        left = f", {time_left(seconds_left)}" if seconds_left and done < total else ""
        print(f"\r  [{bar}] {done}/{total} {what + left:<56}", end="\n" if done == total else "",
              flush=True)

    report, figures = run_experiment(cfg, data, progress)
    written = write_report(report, figures, args.out)
    print(f"done in {report['seconds']:.0f} s; wrote {', '.join(p.name for p in written)} "
          f"in {args.out}")
    _print_findings(report)
    return 0


#: What a smoke run prints instead of answers.
WIRING_CHECK_LINE = ("wiring check (profile smoke): the pipeline runs on this data; its figures "
                     "say nothing about whether any method helps. Run --profile cpu for an "
                     "answer.")


def time_left(seconds: float) -> str:
    """``seconds`` in words a progress line can show: "about 40 s left", "about 12 min left".

    Examples
    --------
    >>> time_left(42), time_left(700), time_left(7300)
    ('about 40 s left', 'about 12 min left', 'about 2.0 h left')
    """
    if seconds < 90:
        return f"about {max(10, round(seconds / 10) * 10)} s left"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def _counts(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(c) for c in text.split(",")]
    except ValueError:
        raise ValueError(f"--counts takes one whole number per class, comma-separated; got "
                         f"{text!r}") from None


def _print_findings(report: dict) -> None:
    """The report's plain answer, one line per method, after a run or a combine."""
    if report.get("wiring_check"):
        print(f"  {WIRING_CHECK_LINE}")
    for a in report.get("answers", []):
        print(f"  {a['text']}")
    if report.get("findings"):
        print("  against random oversampling:")
    for f in report.get("findings", []):
        print(f"  {f['text']}")


def cmd_combine(args) -> int:
    from .evaluation.experiment import combine_reports
    from .evaluation.report import write_report

    reports = []
    for name in args.reports:
        path = Path(name)
        path = path / "report.json" if path.is_dir() else path
        try:
            reports.append(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from None
    report = combine_reports(reports)
    dropped = sorted({m for r in reports for m in r["config"]["methods"]}
                     - set(report["config"]["methods"]))
    if dropped:
        print(f"left out {', '.join(dropped)}: not in every report")
    written = write_report(report, {}, args.out)
    print(f"{len(reports)} reports, seeds {report['config']['seeds']}: wrote "
          f"{', '.join(p.name for p in written)} in {args.out}")
    _print_findings(report)
    return 0


def _common(p: argparse.ArgumentParser, **defaults) -> None:
    """The sampler's options; each one left out keeps the recipe's value (or ``defaults``)."""
    p.add_argument("--recipe", choices=list(RECIPES), default=DEFAULT_RECIPE,
                   help="; ".join(f"{r.name}: {r.description}" for r in RECIPES.values())
                   + " (default: %(default)s)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--dim-h", type=int)
    p.add_argument("--n-z", type=int)
    p.add_argument("--decoding", choices=DECODINGS)
    p.add_argument("--interpolation", choices=INTERPOLATIONS,
                   help="smote: toward a neighbour of the class (DeepSMOTE); transfer: by a "
                        "neighbour step of any class (see docs/results.md)")
    p.add_argument("--step-scale", type=float, help="u ~ U(0, step-scale) along each step")
    p.add_argument("--foreground-margin", type=int,
                   help="residual decoding: keep the change on the base image's foreground "
                        "grown by this many pixels (no speckle on a dark background)")
    p.add_argument("--train-shift", type=int,
                   help="train the autoencoder on images shifted by up to this many pixels")
    p.set_defaults(**defaults)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)


def build_parser(
    add_commands: Callable[[argparse._SubParsersAction], None] | None = None,
) -> argparse.ArgumentParser:
    """The command line's parser; ``add_commands(subparsers)`` may add or extend commands.

    The service's command line (``app.cli``) passes a hook that adds its
    commands; the library itself knows nothing of them.
    """
    parser = argparse.ArgumentParser(prog="deepclsmote", description=__doc__)
    parser.add_argument("--version", action="version", version=f"deepclsmote {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="balance an imbalanced digits/MNIST set and draw a grid")
    demo.add_argument("--dataset", choices=sorted(DEMO_COUNTS), default="digits")
    demo.add_argument("--data-dir", help="folder of the MNIST IDX files (mnist only)")
    demo.add_argument("--out", default="demo_out")
    _common(demo, epochs=60, dim_h=32, n_z=32, batch_size=32)   # seconds on a CPU
    demo.set_defaults(func=cmd_demo)
    res = sub.add_parser("resample", help="fit_resample an .npz of images and labels")
    res.add_argument("input")
    res.add_argument("--out", required=True)
    res.add_argument("--model", help="also save the fitted model into this folder")
    _common(res)
    res.set_defaults(func=cmd_resample)
    ev = sub.add_parser("evaluate", help="compare oversamplers with a classifier (report, figures)")
    ev.add_argument("--dataset", required=True,
                    help="digits, mnist, fashion-mnist, cifar10, svhn, gtsrb... or a path")
    ev.add_argument("--data-dir", help="folder of a named dataset's files")
    ev.add_argument("--split", help="which of the dataset's files to read, e.g. train (the "
                                    "paper's pools) or test (all: both, for a tree of train/ "
                                    "and test/ folders or IDX pairs in an archive); default "
                                    "the loader's own (test, train for GTSRB, all for "
                                    "archives). Not for .npz, .csv or digits")
    ev.add_argument("--subset", help="EMNIST's subset: balanced (default), byclass, bymerge, "
                                     "digits, letters or mnist")
    ev.add_argument("--size", metavar="HxW",
                    help="resize every image to H x W pixels, for an image folder or archive "
                         "whose images differ in size, an .npz, a CSV or IDX files in an "
                         "archive, or GTSRB (default 32x32)")
    ev.add_argument("--fit", choices=["stretch", "crop", "pad"],
                    help="with --size, how an image of another aspect ratio meets it "
                         "(default stretch)")
    ev.add_argument("--mode", choices=["L", "RGB"],
                    help="convert every image to grey (L) or colour (RGB)")
    ev.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help="comma-separated, from " + ", ".join(METHODS)
                    + " (default: %(default)s)")
    ev.add_argument("--grow", type=float, default=1.0,
                    help="how far every oversampling method grows the classes, as a multiple "
                         "of the largest: 1 balances (default); 2 grows every class, the "
                         "largest included, to twice the largest")
    ev.add_argument("--imbalance", choices=["dataset", "paper"], default="dataset",
                    help="dataset (default): your data as it is, tested on held-out folds "
                         "(every class needs 2 images, 3 for smote and the paper recipes); "
                         "paper: the papers' protocol for benchmark sets, an imbalanced pool "
                         "with their class counts and a balanced test set")
    ev.add_argument("--counts", metavar="N,N,...",
                    help="draw the pool with these images per class (scaled to fit) instead "
                         "of the data's own counts or the papers'")
    ev.add_argument("--folds", type=int, default=5,
                    help="stratified folds (with imbalance dataset: at most the smallest "
                         "class's images)")
    ev.add_argument("--seeds", default="0", help="comma-separated seeds")
    ev.add_argument("--profile", choices=list(PROFILES), default="cpu",
                    help="budget: cpu runs in minutes, paper is meant for a GPU")
    ev.add_argument("--augment", choices=["both", "on", "off"], default="both",
                    help="train classifiers with and/or without shift augmentation")
    ev.add_argument("--test-per-class", type=int,
                    help="with --imbalance paper: balanced test images per class (default: a "
                         "tenth of the smallest class, at least 2); the pool shrinks to leave "
                         "them. On a small set a few more steady the comparison: with 8, one "
                         "image is 1.25 ACSA")
    ev.add_argument("--lr-schedule", default="constant",
                    help="the classifiers' learning rate, the same for every method: "
                         "constant, or cosine (annealed to 0 over the run)")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--out", required=True)
    ev.set_defaults(func=cmd_evaluate)
    co = sub.add_parser("combine", help="pool evaluate reports of other seeds into one report")
    co.add_argument("reports", nargs="+", metavar="REPORT",
                    help="a report.json, or the folder that holds one")
    co.add_argument("--out", required=True)
    co.set_defaults(func=cmd_combine)
    if add_commands is not None:
        add_commands(sub)
    return parser


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Run one command; ``parser`` defaults to :func:`build_parser`'s."""
    args = (parser or build_parser()).parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"deepclsmote: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
