"""The ``deepclsmote`` command: the library's commands plus the service's.

``serve`` runs the service; ``upload``, ``train``, ``generate``, ``status``,
``download``, ``cancel``, ``datasets``, ``models`` and ``evaluate
--dataset-id`` talk to one over HTTP through :mod:`app.client`.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import httpx

from deepclsmote.cli import WIRING_CHECK_LINE, build_parser, time_left
from deepclsmote.cli import main as library_main
from deepclsmote.recipes import RECIPES

from . import cli_server as server_commands
from .client import DEFAULT_URL, TERMINAL, ApiError, Client
from .schemas import UPLOAD_OPTIONS, FitName, ImageMode, SplitName

Command = Callable[[argparse.Namespace], int]
STRATEGIES = ("auto", "minority", "not minority", "not majority", "all")


def main(argv: list[str] | None = None) -> int:
    """The console script ``deepclsmote``."""
    parser = build_parser(add_commands)
    parser.description = ("Oversample imbalanced image data with DeepCLSMOTE, here (demo, "
                          "resample, evaluate) or on the service (serve, then the others).")
    return library_main(argv, parser=parser)


def _error(message: str) -> None:
    print(f"deepclsmote: error: {message}", file=sys.stderr)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


# --- talking to the service ------------------------------------------------------
def _client(args: argparse.Namespace) -> Client:
    return Client(args.server, api_key=args.api_key)


def _service(func: Callable[[argparse.Namespace, Client], int]) -> Command:
    """A command that talks to the service: its errors become one line and exit 1."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            with _client(args) as api:
                return func(args, api)
        except ApiError as exc:
            _error(f"{exc.message} ({exc.code})")
        except httpx.ConnectError:
            _error(f"cannot connect to the service at {args.server}; is it running "
                   f"(deepclsmote serve)? Pass --server or set DEEPCLSMOTE_SERVER")
        except httpx.TransportError as exc:
            _error(f"the service at {args.server} did not answer: "
                   f"{type(exc).__name__} {exc}")
        return 1

    return run


class _Bar:
    """A one-line progress bar of a job: stage, epoch or step x/y, loss."""

    width = 30

    def __init__(self) -> None:
        self.open = False

    def __call__(self, job: dict) -> None:
        p = job.get("progress") or {}
        stage = p.get("stage") or job["status"]
        done, total = p.get("epoch"), p.get("epochs")
        fraction = p.get("fraction")
        if fraction is None and done is not None and total:
            fraction = done / total
        filled = int(self.width * min(max(fraction or 0.0, 0.0), 1.0))
        text = f"  {stage:<10} [{'#' * filled}{'.' * (self.width - filled)}]"
        if done is not None and total:
            text += f" {'epoch' if job['kind'] == 'train' else 'step'} {done}/{total}"
        if p.get("seconds_left"):
            text += f", {time_left(p['seconds_left'])}"
        losses = p.get("losses") or {}
        if "loss" in losses:
            text += f"  loss {losses['loss']:.4f}"
        elif p.get("note"):
            text += f"  {str(p['note'])[:40]}"
        print(f"\r{text:<100}", end="", flush=True)
        self.open = True

    def close(self) -> None:
        if self.open:
            print(flush=True)
            self.open = False


def _wait(api: Client, job: dict, args: argparse.Namespace) -> dict:
    """Follow a job to its end with a progress bar (not with --json)."""
    bar = None if args.json else _Bar()
    try:
        return api.wait(job["id"], on_progress=bar)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"stopped waiting; job {job['id']} goes on (deepclsmote status {job['id']})",
              file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        if bar is not None:
            bar.close()


def _model_id(job: dict) -> str | None:
    return (job.get("result") or {}).get("model_id") or job.get("model_id")


def _report_job(job: dict, args: argparse.Namespace) -> int:
    """Print a submitted or finished job; 1 when it failed or was cancelled."""
    if args.json:
        _print_json(job)
    elif job["status"] == "succeeded":
        print(f"job {job['id']} ({job['kind']}) succeeded{_outcome(job)}")
    elif job["status"] in TERMINAL:
        error = job.get("error") or {}
        _error(f"job {job['id']} ({job['kind']}) {job['status']}"
               + (f": {error.get('message')} ({error.get('code')})" if error else ""))
    else:
        print(f"job {job['id']} ({job['kind']}) {job['status']}; follow it with "
              f"'deepclsmote status {job['id']}'")
    return 1 if job["status"] in ("failed", "cancelled") else 0


def _outcome(job: dict) -> str:
    result = job.get("result") or {}
    if job["kind"] == "train":
        reused = " (reused: same data and parameters)" if result.get("reused") else ""
        return f": model {_model_id(job)}{reused}"
    if job["kind"] == "generate":
        quality = (result.get("quality") or {}).get("summary")
        return (f": {result.get('n_synthetic')} synthetic images {result.get('counts')}"
                + (f"\n  quality: {quality}" if quality else ""))
    lines = [WIRING_CHECK_LINE] if result.get("wiring_check") else []
    lines += [a["text"] for a in result.get("answers", [])]
    if result.get("findings"):
        lines += ["against random oversampling:", *(f["text"] for f in result["findings"])]
    return f" in {result.get('seconds')} s" + "".join(f"\n  {line}" for line in lines)


def _submitted(api: Client, job: dict, args: argparse.Namespace) -> int:
    """After a submit: report, or wait (and download) as asked."""
    download = getattr(args, "download", None)
    if not (args.wait or download):
        return _report_job(job, args)
    if not args.json:
        print(f"job {job['id']} ({job['kind']}) {job['status']}")
    job = _wait(api, job, args)
    rc = _report_job(job, args)
    if rc == 0 and download:
        _download_all(api, job["id"], Path(download), quiet=args.json)
    return rc


def _download_all(api: Client, job_id: str, out: Path, *, quiet: bool = False,
                  names: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    listed = api.artifacts(job_id)
    if names is None:
        names = [a["name"] for a in listed]
        if not names:
            _error(f"job {job_id} has no artifacts (only a succeeded job has)")
    written = []
    for name in names:
        path = api.download(job_id, name, out)
        written.append(path)
        if not quiet:
            print(f"wrote {path} ({path.stat().st_size} bytes, SHA-256 verified)")
    return written


# --- the commands ----------------------------------------------------------------
@_service
def cmd_upload(args: argparse.Namespace, api: Client) -> int:
    header = None if args.header is None else args.header == "true"
    d = api.upload_dataset(args.path, name=args.name, size=args.size, mode=args.mode,
                           fit=args.fit, split=args.split, header=header)
    if args.json:
        _print_json(d)
        return 0
    shape = "x".join(str(n) for n in d["image_shape"])
    done = "already stored as" if d.get("duplicate") else "uploaded"
    print(f"{done} dataset {d['id']} '{d['name']}': {d['n_images']} images {shape}, "
          f"{len(d['classes'])} classes (imbalance ratio {d['imbalance_ratio']:.2f})")
    print("  " + ", ".join(f"{c['name']}: {c['count']}" for c in d["classes"]))
    for conversion in d.get("conversions") or []:
        print(f"  {conversion['kind']}: {conversion['detail']}")
    for warning in d.get("warnings", []):
        print(f"  note: {warning}")
    return 0


_TRAIN_OPTIONS = {"recipe": "recipe", "epochs": "epochs", "dim_h": "dim_h", "n_z": "n_z",
                  "batch_size": "batch_size", "w_compact": "w_compact",
                  "w_separation": "w_separation", "decoding": "decoding",
                  "interpolation": "interpolation", "step_scale": "step_scale",
                  "foreground_margin": "foreground_margin", "seed": "random_state"}


@_service
def cmd_train(args: argparse.Namespace, api: Client) -> int:
    params = {key: getattr(args, opt) for opt, key in _TRAIN_OPTIONS.items()
              if getattr(args, opt) is not None}
    return _submitted(api, api.train(args.dataset_id, **params), args)


def parse_strategy(text: str) -> Any:
    """``--strategy``: a name, a float (two classes) or a JSON object of counts."""
    if text in STRATEGIES:
        return text
    try:
        return float(text)
    except ValueError:
        pass
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"one of {', '.join(STRATEGIES)}, a float or a JSON object such as "
            f"'{{\"3\": 50}}'; got {text!r}")
    return value


@_service
def cmd_generate(args: argparse.Namespace, api: Client) -> int:
    params: dict[str, Any] = {"sampling_strategy": args.strategy, "output": args.output,
                              "content": args.content, "near_copies": args.near_copies}
    if args.seed is not None:
        params["random_state"] = args.seed
    job = api.generate(args.model_id, dataset_id=args.dataset_id, **params)
    return _submitted(api, job, args)


def _age(job: dict) -> str:
    return str(job.get("created_at", ""))[:19].replace("T", " ")


def _progress_text(job: dict) -> str:
    p = job.get("progress") or {}
    if job["status"] != "running":
        return ""
    parts = [p.get("stage") or ""]
    if p.get("epoch") is not None and p.get("epochs"):
        parts.append(f"{p['epoch']}/{p['epochs']}")
    elif p.get("fraction") is not None:
        parts.append(f"{100 * p['fraction']:.0f}%")
    if p.get("seconds_left"):
        parts.append(f"({time_left(p['seconds_left'])})")
    return " ".join(x for x in parts if x)


@_service
def cmd_status(args: argparse.Namespace, api: Client) -> int:
    if args.job_id:
        job = api.job(args.job_id)
        if args.json:
            _print_json(job)
            return 0
        print(f"job {job['id']}: {job['kind']} {job['status']} (attempt {job['attempts']}/"
              f"{job['max_attempts']}), created {_age(job)}")
        for key in ("dataset", "model"):
            if job.get(f"{key}_id"):
                name = job.get(f"{key}_name")
                print(f"  {key}: {name or '(deleted)'} ({job[f'{key}_id']})")
        if _progress_text(job):
            print(f"  progress: {_progress_text(job)}")
        if job["status"] == "succeeded":
            print(f"  result{_outcome(job)}")
            for a in (job.get("result") or {}).get("artifacts", []):
                print(f"  artifact {a['name']} ({a['size']} bytes)")
        if job.get("error"):
            print(f"  error: {job['error']['message']} ({job['error']['code']})")
        return 0
    jobs = api.jobs(status=args.status, kind=args.kind, dataset_id=args.dataset_id,
                    limit=args.limit)
    if args.json:
        _print_json(jobs)
        return 0
    if not jobs:
        print("no jobs")
        return 0
    print(f"{'JOB':<32}  {'KIND':<8}  {'STATUS':<9}  {'CREATED':<19}  "
          f"{'MODEL OR DATASET':<28}  PROGRESS")
    for j in jobs:
        name = j.get("model_name") or j.get("dataset_name") or ""
        print(f"{j['id']:<32}  {j['kind']:<8}  {j['status']:<9}  {_age(j):<19}  "
              f"{name[:28]:<28}  {_progress_text(j)}")
    return 0


@_service
def cmd_download(args: argparse.Namespace, api: Client) -> int:
    written = _download_all(api, args.job_id, Path(args.out), quiet=args.json,
                            names=[args.name] if args.name else None)
    if args.json:
        _print_json([str(p) for p in written])
    return 0 if written else 1


@_service
def cmd_cancel(args: argparse.Namespace, api: Client) -> int:
    job = api.cancel(args.job_id)
    if args.json:
        _print_json(job)
    elif job["status"] in TERMINAL:
        print(f"job {job['id']}: {job['status']}")
    else:
        print(f"job {job['id']}: cancel requested ({job['status']})")
    return 0


@_service
def cmd_datasets(args: argparse.Namespace, api: Client) -> int:
    rows = api.datasets()
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'DATASET':<32}  {'NAME':<20}  {'IMAGES':>7}  {'SHAPE':<8}  {'CLASSES':>7}  RATIO")
    for d in rows:
        shape = "x".join(str(n) for n in d["image_shape"])
        print(f"{d['id']:<32}  {d['name'][:20]:<20}  {d['n_images']:>7}  {shape:<8}  "
              f"{len(d['classes']):>7}  {d['imbalance_ratio']:.2f}")
    return 0


@_service
def cmd_models(args: argparse.Namespace, api: Client) -> int:
    rows = api.models(dataset_id=args.dataset_id)
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'MODEL':<32}  {'NAME':<32}  {'EPOCHS':>6}  {'SHAPE':<8}  CLASSES")
    for m in rows:
        shape = "x".join(str(n) for n in m["image_shape"])
        name = m.get("name") or m.get("recipe") or m["method"]
        print(f"{m['id']:<32}  {name[:32]:<32}  {m['params'].get('epochs', ''):>6}  "
              f"{shape:<8}  {len(m['classes'])}")
    return 0


@_service
def cmd_evaluate_remote(args: argparse.Namespace, api: Client) -> int:
    params = {"methods": [m.strip() for m in args.methods.split(",") if m.strip()],
              "folds": args.folds, "seeds": [int(s) for s in args.seeds.split(",")],
              "profile": args.profile, "augment": args.augment,
              "lr_schedule": args.lr_schedule, "grow": args.grow, "imbalance": args.imbalance}
    if args.test_per_class is not None:
        params["test_per_class"] = args.test_per_class
    return _submitted(api, api.evaluate(args.dataset_id, **params), args)


# --- the parser ------------------------------------------------------------------
def _service_options(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    p.add_argument("--server", default=os.environ.get("DEEPCLSMOTE_SERVER", DEFAULT_URL),
                   help="the service's URL (default: $DEEPCLSMOTE_SERVER or %(default)s)")
    p.add_argument("--api-key", default=os.environ.get("DEEPCLSMOTE_API_KEY"),
                   help="sent as X-API-Key (default: $DEEPCLSMOTE_API_KEY)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print the service's raw JSON")


def _wait_options(p: argparse.ArgumentParser, *, download: bool = True) -> None:
    p.add_argument("--wait", action="store_true",
                   help="follow the job with a progress bar until it ends")
    if download:
        p.add_argument("--download", metavar="DIR",
                       help="wait, then save the job's artifacts in DIR")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The service's commands, added to the library's parser (see ``build_parser``)."""
    server_commands.add_commands(sub)

    def command(name: str, func: Command, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text)
        _service_options(p)
        p.set_defaults(func=func)
        return p

    p = command("upload", cmd_upload, "upload a dataset (a .zip, .tar, .tar.gz or .tgz of "
                                      "class folders of images or of IDX files, an .npz or "
                                      "a CSV)")
    p.add_argument("path")
    p.add_argument("--name", help="default: the file's name")
    p.add_argument("--size", metavar="HxW", help=UPLOAD_OPTIONS["size"])
    p.add_argument("--mode", choices=get_args(ImageMode), help=UPLOAD_OPTIONS["mode"])
    p.add_argument("--fit", choices=get_args(FitName), help=UPLOAD_OPTIONS["fit"])
    p.add_argument("--split", choices=get_args(SplitName), help=UPLOAD_OPTIONS["split"])
    p.add_argument("--header", choices=["true", "false"], help=UPLOAD_OPTIONS["header"])

    p = command("train", cmd_train, "train a model on a stored dataset")
    p.add_argument("dataset_id")
    p.add_argument("--recipe", choices=list(RECIPES),
                   help="what to train (default: the service's, recommended); every option "
                        "below overrides the recipe's value: "
                        + "; ".join(f"{r.name}: {r.description}" for r in RECIPES.values()))
    p.add_argument("--epochs", type=int)
    p.add_argument("--dim-h", type=int)
    p.add_argument("--n-z", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--w-compact", type=float)
    p.add_argument("--w-separation", type=float)
    p.add_argument("--decoding", choices=["direct", "residual"])
    p.add_argument("--interpolation", choices=["smote", "transfer"])
    p.add_argument("--step-scale", type=float, help="u ~ U(0, step-scale) along each step")
    p.add_argument("--foreground-margin", type=int,
                   help="residual decoding: keep the change on the base image's foreground "
                        "grown by this many pixels")
    p.add_argument("--seed", type=int, help="random_state")
    _wait_options(p, download=False)

    p = command("generate", cmd_generate, "generate synthetic images with a model")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-id")
    source.add_argument("--dataset-id", help="use the dataset's latest model")
    p.add_argument("--strategy", type=parse_strategy, default="auto",
                   help=f"{', '.join(STRATEGIES)}, a float or JSON counts such as "
                        f"'{{\"3\": 50}}' (default: auto)")
    p.add_argument("--seed", type=int, help="random_state")
    p.add_argument("--output", choices=["npz", "zip"], default="npz")
    p.add_argument("--content", choices=["synthetic", "balanced"], default="synthetic")
    p.add_argument("--near-copies", choices=["keep", "flag", "drop"], default="keep",
                   help="synthetic images closer to a real one than 99%% of real images are to "
                        "each other: keep, flag (marked in the output) or drop (others drawn "
                        "in their place)")
    _wait_options(p)

    p = command("status", cmd_status, "one job, or a table of recent jobs")
    p.add_argument("job_id", nargs="?")
    p.add_argument("--status", choices=["queued", "running", "succeeded", "failed",
                                        "cancelled"])
    p.add_argument("--kind", choices=["train", "generate", "evaluate"])
    p.add_argument("--dataset-id")
    p.add_argument("--limit", type=int, default=20)

    p = command("download", cmd_download, "save a job's artifacts (checksums verified)")
    p.add_argument("job_id")
    p.add_argument("name", nargs="?", help="one artifact (default: all)")
    p.add_argument("--out", default=".", help="folder (default: the current one)")

    p = command("cancel", cmd_cancel, "cancel a queued or running job")
    p.add_argument("job_id")
    command("datasets", cmd_datasets, "list the stored datasets")
    p = command("models", cmd_models, "list the trained and uploaded models")
    p.add_argument("--dataset-id")

    _extend_evaluate(sub.choices["evaluate"])


def _extend_evaluate(ev: argparse.ArgumentParser) -> None:
    """``evaluate --dataset-id``: the same experiment as an evaluate job on the service."""
    ev.add_argument("--dataset-id", help="a stored dataset: run the evaluation on the service "
                                         "instead of here (then --out is not used)")
    _service_options(ev)
    _wait_options(ev)
    # argparse offers no public way to relax a required option that another module
    # declared; the library's --dataset and --out are required only for a local run.
    for option in ("--dataset", "--out"):
        ev._option_string_actions[option].required = False
    ev.set_defaults(func=functools.partial(_evaluate, ev))


def _evaluate(ev: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from deepclsmote.cli import cmd_evaluate

    if (args.dataset is None) == (args.dataset_id is None):
        ev.error("give exactly one of --dataset (evaluate here) or --dataset-id (evaluate "
                 "on the service)")
    if args.dataset_id is not None:
        local = [f"--{k.replace('_', '-')}" for k in ("data_dir", "split", "subset", "size",
                                                      "counts")
                 if getattr(args, k) is not None]
        if local:
            ev.error(f"{', '.join(local)} apply to --dataset (files read here); a stored "
                     f"dataset is read as it was uploaded")
        return cmd_evaluate_remote(args)
    if args.out is None:
        ev.error("the following arguments are required: --out")
    if args.wait or args.download or args.json:
        ev.error("--wait, --download and --json apply to --dataset-id (a job on the service)")
    return cmd_evaluate(args)


__all__ = ["add_commands", "main", "parse_strategy"]
