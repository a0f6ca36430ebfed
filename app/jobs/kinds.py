"""The job kinds: train, generate, evaluate. They run inside a job's child process.

Each takes the job's context and returns its outcome: ``result`` (what the job
answers, with the list of its artifacts) and, for train, the model row to
record. Every file a kind writes is complete before it returns.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from ..db.tables import Model
from ..service_info import VERSION
from .service import model_id_for, train_fingerprint
from .tools import strategy_for

if TYPE_CHECKING:
    from .runner import JobContext

Outcome = tuple[dict[str, Any], Model | None]


class JobFailed(Exception):
    """A job that cannot succeed, with a code and a message for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _required(value: str | None) -> str:
    if value is None:
        raise JobFailed("invalid_job", "the job names no dataset or model")
    return value


def _copy_from(path):  # noqa: ANN001, ANN202
    blob = path.read_bytes()
    return lambda f: f.write(blob)


def _classes(names: list[str], labels: np.ndarray) -> list[dict[str, Any]]:
    counts = np.bincount(labels, minlength=len(names))
    return [{"name": n, "count": int(c)} for n, c in zip(names, counts, strict=True)]


def requested_recipe(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A train job's recipe and overrides. Jobs queued before recipes name a ``method``
    and give every parameter; they train the published method they named, as before."""
    params = dict(params)
    if "recipe" in params:
        return params.pop("recipe"), params
    method = params.pop("method", "deepclsmote")
    if method == "deepsmote":
        params.pop("w_compact", None), params.pop("w_separation", None)
    return f"{method}-paper", params


def train(ctx: JobContext) -> Outcome:
    from deepclsmote.recipes import get_recipe, make_sampler, resolve

    job = ctx.job
    recipe, overrides = requested_recipe(job.params)
    try:    # checked at submit; a job queued by another version is checked again here
        resolved = resolve(recipe, overrides, complete=True)
    except ValueError as exc:
        raise JobFailed("invalid_params", str(exc)) from exc
    estimator = get_recipe(recipe).estimator
    ctx.progress(stage="loading")
    images, labels, names = ctx.storage.read_dataset(_required(job.dataset_id))
    y = np.asarray(names)[labels]  # class names are the labels: sampling_strategy uses them

    clock: dict[str, float] = {}

    def on_epoch(epoch: int, total: int, parts: dict) -> None:
        # the time left from the epochs this run measured (a resumed run starts mid-way)
        first = clock.setdefault("first_epoch", epoch - 1)
        per_epoch = (time.perf_counter() - clock["start"]) / max(1, epoch - first)
        losses = {k: float(v) for k, v in parts.items()}
        ctx.storage.append_epoch(job.id, {"epoch": epoch, "losses": losses})  # history first
        ctx.progress(stage="training", epoch=epoch, epochs=total, fraction=epoch / total,
                     losses=losses, seconds_left=_rounded(per_epoch * (total - epoch)))

    sampler = make_sampler(recipe, **overrides, device=ctx.settings.device, callback=on_epoch,
                           checkpoint_path=ctx.work_dir / "train_state.pt",
                           checkpoint_every=ctx.settings.checkpoint_every)
    start = clock["start"] = time.perf_counter()
    sampler.fit(images, y)
    seconds = time.perf_counter() - start
    ctx.progress(stage="training", note="saving the model")
    model_id = model_id_for(job.id)
    ctx.storage.install_model(model_id, sampler.save)
    (ctx.work_dir / "train_state.pt").unlink(missing_ok=True)  # the model supersedes it
    history = json.dumps(sampler.history_, indent=1).encode()
    artifacts = [ctx.storage.write_artifact(job.id, "history.json", lambda f: f.write(history))]
    dataset = ctx.catalog_dataset()
    model = Model(id=model_id, tenant=job.tenant, dataset_id=job.dataset_id, job_id=job.id,
                  method=estimator.lower(), recipe=recipe, params=resolved,
                  library_version=VERSION,
                  fingerprint=train_fingerprint(dataset_sha256=dataset.sha256,
                                                estimator=estimator, params=resolved,
                                                library=VERSION),
                  classes=_classes(names, labels), image_shape=list(images.shape[1:]),
                  created_at=time.time())
    result = {"model_id": model_id, "reused": False, "recipe": recipe,
              "epochs_run": sampler.n_epochs_,
              "resumed_from_epoch": getattr(sampler, "resumed_from_epoch_", 0),
              "device": str(sampler.device_), "training_seconds": round(seconds, 3),
              "final_losses": sampler.history_[-1] if sampler.history_ else None,
              "artifacts": artifacts}
    return result, model


def _zip_pngs(images: np.ndarray, labels: np.ndarray, synthetic: np.ndarray,
              near_copy: np.ndarray | None) -> bytes:
    """An ImageFolder: ``<class>/real-000001.png``, ``<class>/synthetic-000001.png``; with
    ``near_copy``, also ``near_copies.txt``, the paths of the images flagged.

    The marker is in the file's name, not a folder, so that every ImageFolder reader
    (``<class>/<image>``) reads the classes as they are and the images as one set.
    """
    from PIL import Image

    buf = io.BytesIO()
    seen: dict[tuple[str, str], int] = {}
    flagged = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # PNGs are compressed already
        for i, (img, lab, fake) in enumerate(zip(images, labels, synthetic, strict=True)):
            key = (str(lab), "synthetic" if fake else "real")
            seen[key] = seen.get(key, 0) + 1
            png = io.BytesIO()
            Image.fromarray(img).save(png, format="PNG")
            path = f"{_safe(key[0])}/{key[1]}-{seen[key]:06d}.png"
            zf.writestr(path, png.getvalue())
            if near_copy is not None and near_copy[i]:
                flagged.append(path)
        if near_copy is not None:
            zf.writestr("near_copies.txt", "".join(f"{path}\n" for path in flagged))
    return buf.getvalue()


def _safe(name: str) -> str:
    """A class name as one safe folder name."""
    cleaned = "".join(c if c.isalnum() or c in "-_. " else "_" for c in name).strip(" .")
    return cleaned or "_"


def generate(ctx: JobContext) -> Outcome:
    import deepclsmote
    from deepclsmote.figures import nearest_real_grid, real_vs_synthetic_grid
    from deepclsmote.quality import reference

    from . import quality

    job = ctx.job
    p = job.params
    policy = p.get("near_copies", "keep")       # jobs stored before the policy kept them
    ctx.progress(stage="loading")
    model_dir = ctx.storage.model_dir(_required(job.model_id))
    sampler = deepclsmote.load(model_dir, device=ctx.settings.device)
    start = time.perf_counter()
    ctx.progress(stage="sampling", fraction=0.2)
    X_train, y_train = sampler.training_data()
    ref = reference(X_train, y_train)
    try:
        X_new, y_new = quality.draw(sampler, strategy_for(sampler, p["sampling_strategy"]),
                                    random_state=p["random_state"], policy=policy, ref=ref)
    except ValueError as exc:  # the library names what is wrong with the request
        code = "near_copies" if "near-copies" in str(exc) else "invalid_params"
        raise JobFailed(code, str(exc)) from exc
    sampled = time.perf_counter()
    ctx.progress(stage="measuring quality", fraction=0.5)
    classifier = quality.classifier_for(model_dir, sampler, ctx.settings.device)
    report, near, nearest = quality.measure(sampler, X_new, y_new, classifier=classifier,
                                            ref=ref)
    measured = time.perf_counter()
    y_new = y_new.astype(str)
    ctx.progress(stage="writing", fraction=0.8)
    real = None
    if job.dataset_id is not None:
        try:
            images, labels, names = ctx.storage.read_dataset(_required(job.dataset_id))
            real = images, np.asarray(names)[labels]
        except FileNotFoundError:
            real = None
    if p["content"] == "balanced":
        if real is None:
            raise JobFailed("dataset_missing", "the model's dataset was deleted; ask for "
                                               "content 'synthetic'")
        X_out = np.concatenate([real[0], X_new.astype(real[0].dtype)])
        y_out = np.concatenate([real[1], y_new])
        near_out = np.concatenate([np.zeros(len(real[1]), bool), near])
    else:
        X_out, y_out, near_out = X_new, y_new, near
    synthetic = np.arange(len(y_out)) >= len(y_out) - len(y_new)  # the new images come last
    flag = near_out if policy == "flag" else None
    artifacts = []
    if p["output"] == "zip":
        blob = _zip_pngs(X_out, y_out, synthetic, flag)
        artifacts.append(ctx.storage.write_artifact(job.id, "samples.zip",
                                                    lambda f: f.write(blob)))
    else:
        def write_npz(f) -> None:
            if flag is None:
                np.savez_compressed(f, images=X_out, labels=y_out, is_synthetic=synthetic)
            else:
                np.savez_compressed(f, images=X_out, labels=y_out, is_synthetic=synthetic,
                                    near_copy=flag)
        artifacts.append(ctx.storage.write_artifact(job.id, "samples.npz", write_npz))
    quality_json = json.dumps(report, indent=1).encode()
    artifacts.append(ctx.storage.write_artifact(job.id, "quality.json",
                                                lambda f: f.write(quality_json)))
    X_real, y_real = real if real is not None else (X_new[:0], y_new[:0])
    preview, pairs = ctx.work_dir / "preview.png", ctx.work_dir / "quality_preview.png"
    real_vs_synthetic_grid(preview, X_real, y_real, X_new, y_new, sampler.image_spec_,
                           title="real (left) and synthetic (right) images per class")
    nearest_real_grid(pairs, X_new, y_new, X_train, nearest, sampler.image_spec_, flagged=near)
    for figure in (preview, pairs):
        artifacts.append(ctx.storage.write_artifact(job.id, figure.name, _copy_from(figure)))
    counts = {str(c): int(n) for c, n in zip(*np.unique(y_new, return_counts=True),
                                             strict=True)}
    return {"model_id": job.model_id, "n_synthetic": int(len(y_new)), "counts": counts,
            "content": p["content"], "near_copies": policy,
            "quality": {**report["overall"], "summary": report["summary"],
                        "rule": report["rule"]},
            "seconds": {"sampling": round(sampled - start, 3),
                        "quality": round(measured - sampled, 3),
                        "total": round(time.perf_counter() - start, 3)},
            "artifacts": artifacts}, None


def evaluate(ctx: JobContext) -> Outcome:
    from deepclsmote.datasets import ImageDataset
    from deepclsmote.evaluation.experiment import run_experiment
    from deepclsmote.evaluation.report import write_report

    from .service import experiment_config

    job = ctx.job
    p = job.params
    ctx.progress(stage="loading")
    images, labels, names = ctx.storage.read_dataset(_required(job.dataset_id))
    name = ctx.catalog_dataset().name
    data = ImageDataset(images, labels.astype(np.int64), names, name=name)
    try:
        cfg = experiment_config(p, dataset_name=name, device=ctx.settings.device)
    except ValueError as exc:
        raise JobFailed("invalid_params", str(exc)) from exc

    def on_step(what: str, done: int, total: int, seconds_left: float | None) -> None:
        ctx.progress(stage="evaluating", fraction=done / total, note=what, epoch=done,
                     epochs=total, seconds_left=_rounded(seconds_left))

    try:
        report, figures = run_experiment(cfg, data, on_step)
    except ValueError as exc:  # checked at submit; a dataset changed since, for instance
        raise JobFailed("dataset_too_small", str(exc)) from exc
    out = ctx.work_dir / "report"
    shutil.rmtree(out, ignore_errors=True)
    artifacts = []
    for path in write_report(report, figures, out):
        artifacts.append(ctx.storage.write_artifact(job.id, path.name, _copy_from(path)))
    summary = [{k: r[k] for k in ("method", "augment", "split", "acsa", "macro_f1")}
               for r in report["summary"]]
    # the plain answers (against no oversampling), then each method against random
    # oversampling; a wiring check (smoke) states neither
    answers = [{k: a[k] for k in ("method", "augment", "split", "verdict", "text")}
               for a in report["answers"]]
    findings = [{k: f[k] for k in ("method", "augment", "split", "helps", "text")}
                for f in report["findings"]]
    return {"wiring_check": report["wiring_check"], "answers": answers, "summary": summary,
            "findings": findings, "seconds": round(report["seconds"], 1),
            "artifacts": artifacts}, None


def _rounded(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


KINDS = {"train": train, "generate": generate, "evaluate": evaluate}

__all__ = ["KINDS", "JobFailed", "requested_recipe"]
