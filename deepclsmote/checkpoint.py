"""The only code that writes and reads fitted models.

A model is a directory of two files:

- ``config.json``: format version, library version, estimator name and
  parameters, the image layout, the network sizes, class names and counts,
  per-class latent statistics and the training history;
- ``weights.pt``: a dict of tensors only (both networks' state dicts, the
  training codes, labels and images), read back with
  ``torch.load(weights_only=True)``, which never unpickles arbitrary objects.

A training state (:func:`save_training_state`) is one file written during
``fit`` so that a killed run can resume: a format tag, a fingerprint of the
run (plain values) and a snapshot of the training loop (tensors and plain
values), read back with ``weights_only=True`` as well.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

FORMAT = "deepclsmote-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"
_REQUIRED_CONFIG = ("format", "format_version", "estimator", "params", "image_spec",
                    "autoencoder", "classes", "label_dtype")
_REQUIRED_TENSORS = ("encoder", "decoder", "codes", "labels", "images")
TRAINING_STATE_FORMAT = "deepclsmote-training-state"
TRAINING_STATE_VERSION = 1


class ModelFormatError(ValueError):
    """A directory (or training-state file) that this library cannot load."""


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(path, config: dict, tensors: dict) -> Path:
    """Write ``config`` and ``tensors`` into directory ``path`` (created if missing)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, **config}
    payload = json.dumps(config, indent=2, sort_keys=True).encode()
    _atomic_write(path / WEIGHTS_FILE, lambda fh: torch.save(tensors, fh))
    _atomic_write(path / CONFIG_FILE, lambda fh: fh.write(payload))
    return path


def load_model(path, map_location="cpu") -> tuple[dict, dict]:
    """Read a model directory; raise :class:`ModelFormatError` if it is not one."""
    path = Path(path)
    cfg_file, weights_file = path / CONFIG_FILE, path / WEIGHTS_FILE
    for f in (cfg_file, weights_file):
        if not f.is_file():
            raise ModelFormatError(f"{path} is not a saved model: {f.name} is missing.")
    try:
        config = json.loads(cfg_file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{cfg_file} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFormatError(f"{cfg_file} does not describe a {FORMAT}.")
    missing = [k for k in _REQUIRED_CONFIG if k not in config]
    if missing:
        raise ModelFormatError(f"{cfg_file} lacks {', '.join(missing)}.")
    if config["format_version"] > FORMAT_VERSION:
        raise ModelFormatError(
            f"{path} was saved in format version {config['format_version']}; this library "
            f"reads up to version {FORMAT_VERSION}. Upgrade deepclsmote to load it."
        )
    try:
        tensors = torch.load(weights_file, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for unsafe or corrupt files
        raise ModelFormatError(
            f"{weights_file} could not be loaded as plain tensors (weights_only=True): {exc}"
        ) from exc
    if not isinstance(tensors, dict) or any(k not in tensors for k in _REQUIRED_TENSORS):
        raise ModelFormatError(
            f"{weights_file} must hold a dict with {', '.join(_REQUIRED_TENSORS)}."
        )
    return config, tensors


def save_training_state(path, fingerprint: dict, snapshot: dict) -> Path:
    """Write a training snapshot and the fingerprint of its run to file ``path``, atomically.

    A reader never sees a half-written file: the data goes to a temporary file
    in the same folder, is flushed to disk, then replaces ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": TRAINING_STATE_FORMAT, "format_version": TRAINING_STATE_VERSION,
               "fingerprint": fingerprint, "snapshot": snapshot}
    _atomic_write(path, lambda fh: torch.save(payload, fh))
    return path


def load_training_state(path) -> tuple[dict, dict]:
    """Read ``(fingerprint, snapshot)`` from a file written by :func:`save_training_state`.

    Raises :class:`ModelFormatError` when the file cannot be read as plain
    tensors (``weights_only=True``: nothing arbitrary is unpickled) or is not
    a training state of this format version.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unsafe or corrupt files
        raise ModelFormatError(
            f"{path} could not be loaded as plain tensors (weights_only=True): {exc}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != TRAINING_STATE_FORMAT:
        raise ModelFormatError(f"{path} is not a {TRAINING_STATE_FORMAT} file.")
    if payload.get("format_version") != TRAINING_STATE_VERSION:
        raise ModelFormatError(
            f"{path} is in training-state format version {payload.get('format_version')!r}; "
            f"this library reads version {TRAINING_STATE_VERSION}."
        )
    fingerprint, snapshot = payload.get("fingerprint"), payload.get("snapshot")
    if not isinstance(fingerprint, dict) or not isinstance(snapshot, dict):
        raise ModelFormatError(f"{path} lacks the fingerprint or the snapshot of its run.")
    return fingerprint, snapshot


CLASSIFIER_FORMAT = "deepclsmote-fidelity-classifier"


def save_classifier(path, state_dict: dict, meta: dict) -> Path:
    """Write a fidelity classifier (weights and plain values) to file ``path``, atomically."""
    path = Path(path)
    payload = {"format": CLASSIFIER_FORMAT, "meta": meta, "state_dict": state_dict}
    _atomic_write(path, lambda fh: torch.save(payload, fh))
    return path


def load_classifier(path) -> tuple[dict, dict]:
    """``(state_dict, meta)`` of a file written by :func:`save_classifier`."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unsafe or corrupt files
        raise ModelFormatError(f"{path} could not be loaded as plain tensors "
                               f"(weights_only=True): {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != CLASSIFIER_FORMAT:
        raise ModelFormatError(f"{path} is not a {CLASSIFIER_FORMAT} file.")
    return payload["state_dict"], payload["meta"]


__all__ = [
    "ModelFormatError",
    "load_classifier",
    "load_model",
    "load_training_state",
    "save_classifier",
    "save_model",
    "save_training_state",
]
