"""Submitting and cancelling jobs: what routes call. Checks that need stored rows live here."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from deepclsmote.evaluation.config import ExperimentConfig
from deepclsmote.evaluation.protocol import plan
from deepclsmote.recipes import get_recipe, make_sampler, resolve

from ..config import Settings
from ..db.catalog import Catalog
from ..db.store import JobStore
from ..db.tables import Job
from ..errors import Conflict, InvalidInput, NotFound, TooManyRequests
from ..schemas import EvaluateJobCreate, GenerateJobCreate, TrainJobCreate
from ..service_info import VERSION
from . import admission


def train_fingerprint(*, dataset_sha256: str, estimator: str, params: dict[str, Any],
                      library: str) -> str:
    """Same data, sampler, resolved parameters, seed and library version: the same model.

    ``params`` are those the recipe and its overrides resolve to, so two
    requests that differ only in how they spell the same parameters (a recipe
    name, or the same values given one by one) train one model.
    """
    blob = json.dumps({"data": dataset_sha256, "estimator": estimator, "params": params,
                       "library": library}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def resolve_train(recipe: str, overrides: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(estimator, every parameter)`` of a train request, checked by the library itself:
    a parameter the recipe's sampler does not take, or values it refuses, raise
    :class:`~app.errors.InvalidInput` now rather than after the job has waited its turn."""
    try:
        params = resolve(recipe, overrides, complete=True)
        make_sampler(recipe, **overrides).check_params()
    except (ValueError, TypeError) as exc:
        raise InvalidInput(str(exc), code="invalid_params") from exc
    return get_recipe(recipe).estimator, params


def experiment_config(params: dict[str, Any], *, dataset_name: str,
                      device: str = "auto") -> ExperimentConfig:
    """The library's configuration of an evaluate job's parameters (the one mapping)."""
    augment = {"both": [False, True], "on": [True], "off": [False]}[params["augment"]]
    return ExperimentConfig(dataset=dataset_name, methods=params["methods"],
                            folds=params["folds"], seeds=params["seeds"],
                            profile=params["profile"],
                            # jobs stored before the protocol was named ran the dataset's own
                            imbalance=params.get("imbalance", "dataset"),
                            test_per_class=params.get("test_per_class"),
                            augmentations=augment,
                            lr_schedule=params.get("lr_schedule", "constant"),
                            grow=params.get("grow", 1.0), device=device)


def check_evaluable(params: dict[str, Any], dataset: Any) -> tuple[ExperimentConfig, int]:
    """Refuse, before queueing, an evaluation the dataset cannot support: the library's own
    plan of the protocol, on the stored class counts, names the class and what to change.
    Returns the configuration and the images of its pool."""
    counts = [c["count"] for c in dataset.classes if c["count"] > 0]
    names = [c["name"] for c in dataset.classes if c["count"] > 0]
    try:
        cfg = experiment_config(params, dataset_name=dataset.name)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_params") from exc
    try:
        planned = plan(cfg, counts, names=names, colour=len(dataset.image_shape) == 3)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="dataset_too_small") from exc
    return cfg, sum(planned.pool_counts)


def model_id_for(job_id: str) -> str:
    """A train job's model id: fixed per job, so a retried job rewrites the same model."""
    return hashlib.sha256(f"model:{job_id}".encode()).hexdigest()[:32]


def submit(body: TrainJobCreate | GenerateJobCreate | EvaluateJobCreate, *, tenant: str,
           settings: Settings, store: JobStore, catalog: Catalog) -> Job:
    """Check the job against what is stored, then queue it (or answer a reused model)."""
    if store.count_active(tenant=tenant) >= settings.max_queued_jobs_per_tenant:
        raise TooManyRequests(
            f"{settings.max_queued_jobs_per_tenant} jobs are already queued or running for "
            f"this key; wait for some to finish", code="too_many_jobs",
            headers={"Retry-After": "30"})
    params = body.params.model_dump()
    if isinstance(body, GenerateJobCreate):
        model = _model_for(body, tenant=tenant, catalog=catalog)
        check_strategy(params["sampling_strategy"], [c["name"] for c in model.classes])
        if params["content"] == "balanced" and (
                model.dataset_id is None
                or catalog.dataset(model.dataset_id, tenant=tenant) is None):
            raise Conflict("content 'balanced' needs the model's training dataset, which is not "
                           "stored (uploaded model, or dataset deleted); ask for 'synthetic'",
                           code="dataset_missing")
        memory = admission.generate_bytes(model.params, model.image_shape,
                                          sum(c["count"] for c in model.classes))
        admission.check_fits(settings, memory)
        return store.submit(tenant=tenant, kind="generate", params=params, model_id=model.id,
                            dataset_id=model.dataset_id, max_attempts=settings.max_attempts,
                            memory_bytes=memory)
    dataset = catalog.dataset(body.dataset_id, tenant=tenant)
    if dataset is None:
        raise NotFound(f"dataset {body.dataset_id} not found", code="dataset_not_found")
    if isinstance(body, TrainJobCreate):
        recipe, overrides = body.params.requested()
        estimator, resolved = resolve_train(recipe, overrides)
        if resolved["epochs"] > settings.max_epochs:
            raise InvalidInput(f"epochs must be at most {settings.max_epochs} on this service; "
                               f"got {resolved['epochs']}", code="invalid_params")
        _check_trainable(resolved, dataset.classes)
        params = {"recipe": recipe, **overrides}    # what was asked; the model keeps the rest
        fp = train_fingerprint(dataset_sha256=dataset.sha256, estimator=estimator,
                               params=resolved, library=VERSION)
        reused = catalog.model_by_fingerprint(tenant=tenant, fingerprint=fp)
        if reused is not None:
            return store.submit(tenant=tenant, kind="train", params=params,
                                dataset_id=dataset.id, model_id=reused.id,
                                max_attempts=settings.max_attempts,
                                result={"model_id": reused.id, "reused": True,
                                        "artifacts": []})
        memory = admission.train_bytes(resolved, dataset.image_shape, dataset.n_images)
        admission.check_fits(settings, memory)
        return store.submit(tenant=tenant, kind="train", params=params, dataset_id=dataset.id,
                            max_attempts=settings.max_attempts, memory_bytes=memory)
    cfg, pool = check_evaluable(params, dataset)
    memory = admission.evaluate_bytes(cfg, dataset.image_shape, pool)
    admission.check_fits(settings, memory)
    return store.submit(tenant=tenant, kind="evaluate", params=params, dataset_id=dataset.id,
                        max_attempts=settings.max_attempts, memory_bytes=memory)


def _model_for(body: GenerateJobCreate, *, tenant: str, catalog: Catalog):
    if body.model_id:
        model = catalog.model(body.model_id, tenant=tenant)
        if model is None:
            raise NotFound(f"model {body.model_id} not found", code="model_not_found")
        return model
    dataset_id = body.dataset_id or ""  # the schema requires one of the two
    if catalog.dataset(dataset_id, tenant=tenant) is None:
        raise NotFound(f"dataset {dataset_id} not found", code="dataset_not_found")
    models = catalog.models(tenant=tenant, dataset_id=dataset_id, limit=1)
    if not models:
        raise Conflict(f"dataset {dataset_id} has no trained model yet; run a train job "
                       f"first", code="no_model")
    return models[0]


def check_strategy(strategy: Any, classes: list[str]) -> None:
    """The parts of ``sampling_strategy`` that need the model's classes."""
    if isinstance(strategy, dict):
        unknown = sorted(set(strategy) - set(classes))
        if unknown:
            raise InvalidInput(f"sampling_strategy names unknown classes {unknown[:10]}; the "
                               f"model's classes are {classes[:50]}", code="unknown_class")
    elif isinstance(strategy, float) and len(classes) != 2:
        raise InvalidInput("a float sampling_strategy only applies to two classes (as in "
                           "imbalanced-learn); use a dict of counts or a strategy name",
                           code="invalid_params")


def _check_trainable(params: dict[str, Any], classes: list[dict[str, Any]]) -> None:
    """Refuse before queueing what training would refuse after minutes of waiting."""
    counts = {c["name"]: c["count"] for c in classes if c["count"] > 0}
    if len(counts) < 2:
        raise InvalidInput("training needs at least 2 classes with images",
                           code="single_class")
    largest = max(counts.values())
    if params.get("interpolation") == "transfer":
        if largest < 2:
            raise InvalidInput("transfer learns its steps from a class of 2+ images; every "
                               "class here has one", code="class_too_small")
        return  # transfer draws no neighbours from the class itself; one image will do
    lonely = sorted(n for n, c in counts.items() if c < 2 and c < largest)
    if lonely:
        raise InvalidInput(f"classes {lonely[:10]} have a single image; latent SMOTE needs 2+ "
                           f"images of a class it oversamples (interpolation='transfer' "
                           f"needs only one)", code="class_too_small")
    k = params["k_neighbors"]
    short = sorted(n for n, c in counts.items() if c <= k and c < largest)
    if short:
        raise InvalidInput(f"k_neighbors={k} needs more than {k} images in each class that is "
                           f"oversampled; classes {short[:10]} have fewer. Lower k_neighbors "
                           f"to at most {min(counts[n] for n in short) - 1}",
                           code="k_neighbors_too_large")


def fresh_seed() -> int:
    """A new ``random_state`` for a request that gave none (32 bits, as the schema's)."""
    return secrets.randbelow(2**32)


def cancel(job_id: str, *, tenant: str, store: JobStore) -> Job:
    job = store.request_cancel(job_id, tenant=tenant)
    if job is None:
        raise NotFound(f"job {job_id} not found", code="job_not_found")
    return job


__all__ = ["cancel", "check_evaluable", "check_strategy", "experiment_config", "fresh_seed",
           "model_id_for", "resolve_train", "submit", "train_fingerprint"]
