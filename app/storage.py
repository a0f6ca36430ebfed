"""Datasets, models and artifacts on disk, written atomically.

Layout under the data directory (the same on every host that mounts it)::

    datasets/<id>.npz              images (uint8), labels (int), classes (str)
    datasets/<id>.preview-<n>.png  a grid of n real images per class (made when asked)
    models/<id>/                   a model saved by the library (config.json, weights.pt)
    jobs/<id>/artifacts/<name>     what a job produced
    jobs/<id>/work/                a job's checkpoint and outcome, private to the job
    jobs/<id>/epochs.jsonl         a train job's loss parts, a line per epoch as it ends
    uploads/                       bodies being received (emptied at start)

Every file appears complete or not at all: it is written to a temporary name
in the same folder, flushed to disk, and renamed. Names of temporary files
contain ``.tmp-``; :meth:`Storage.clean` removes any a crash left behind.

Jobs and routes reach files only through :class:`Storage`'s methods, and the
service builds its storage in one place, :func:`open_storage`: a scaled-out
service mounts the same root on every host, and an object store would be a
second class with these methods (staging files in a local cache where the
library needs a path), chosen there, without touching jobs or routes.
"""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

_TMP = ".tmp-"
_EPOCHS = "epochs.jsonl"
_PREVIEW_LOCK = threading.Lock()
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ID = re.compile(r"^[0-9a-f]{32}$")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Create ``path`` from ``write(file)``: complete, or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}{_TMP}{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_type(name: str) -> str:
    known = {".npz": "application/octet-stream", ".md": "text/markdown; charset=utf-8",
             ".json": "application/json"}
    suffix = Path(name).suffix.lower()
    return known.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class Storage:
    """The files of datasets, models and jobs under one root folder."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def prepare(self) -> None:
        for sub in ("datasets", "models", "jobs", "uploads"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def clean(self) -> list[Path]:
        """Remove what interrupted writes left: temporary files and unfinished uploads."""
        removed = []
        for path in sorted(self.root.rglob(f"*{_TMP}*"), reverse=True):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
        uploads = self.root / "uploads"
        for path in uploads.iterdir() if uploads.is_dir() else ():
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
        return removed

    # --- uploads ----------------------------------------------------------
    def upload_path(self, suffix: str = "") -> Path:
        return self.root / "uploads" / f"{uuid.uuid4().hex}{suffix}"

    # --- datasets ---------------------------------------------------------
    def dataset_path(self, dataset_id: str) -> Path:
        return self.root / "datasets" / f"{_checked_id(dataset_id)}.npz"

    def write_dataset(self, dataset_id: str, images: np.ndarray, labels: np.ndarray,
                      classes: list[str]) -> Path:
        buf = io.BytesIO()
        np.savez(buf, images=images, labels=labels, classes=np.array(classes, dtype=str))
        return atomic_write(self.dataset_path(dataset_id), lambda f: f.write(buf.getbuffer()))

    def read_dataset(self, dataset_id: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        with np.load(self.dataset_path(dataset_id), allow_pickle=False) as npz:
            return npz["images"], npz["labels"], [str(c) for c in npz["classes"]]

    def dataset_preview(self, dataset_id: str, per_class: int,
                        render: Callable[[], bytes]) -> Path:
        """The dataset's preview grid, rendered the first time it is asked for.

        Renders happen one at a time (each reads the dataset's arrays into memory),
        and one that finds its dataset deleted meanwhile keeps nothing.
        """
        path = self.root / "datasets" / f"{_checked_id(dataset_id)}.preview-{int(per_class)}.png"
        if path.is_file():
            return path
        with _PREVIEW_LOCK:
            if not path.is_file():
                blob = render()
                atomic_write(path, lambda f: f.write(blob))
                if not self.dataset_path(dataset_id).is_file():
                    path.unlink(missing_ok=True)
                    raise FileNotFoundError(self.dataset_path(dataset_id))
        return path

    def delete_dataset(self, dataset_id: str) -> None:
        for path in (self.root / "datasets").glob(f"{_checked_id(dataset_id)}.preview-*.png"):
            path.unlink(missing_ok=True)
        self.dataset_path(dataset_id).unlink(missing_ok=True)

    # --- models -----------------------------------------------------------
    def model_dir(self, model_id: str) -> Path:
        return self.root / "models" / _checked_id(model_id)

    def install_model(self, model_id: str, save: Callable[[Path], Any]) -> Path:
        """Write a model folder with ``save(tmp_dir)`` and move it into place whole."""
        final = self.model_dir(model_id)
        tmp = final.with_name(f"{final.name}{_TMP}{uuid.uuid4().hex[:8]}")
        try:
            save(tmp)
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            if final.exists():  # a retried job writes the same model again
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync_dir(final.parent)
        return final

    def delete_model(self, model_id: str) -> None:
        shutil.rmtree(self.model_dir(model_id), ignore_errors=True)

    # --- jobs -------------------------------------------------------------
    def work_dir(self, job_id: str) -> Path:
        path = self.root / "jobs" / _checked_id(job_id) / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def append_epoch(self, job_id: str, record: dict[str, Any]) -> None:
        """Add one epoch's line to the job's loss history (``{"epoch", "losses"}``).

        One ``write`` of one line to a file opened for appending: a reader sees
        whole lines, and at worst a last line still being written, which it skips.
        """
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        path = self.root / "jobs" / _checked_id(job_id) / _EPOCHS
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as f:
            f.write(line)

    def read_epochs(self, job_id: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """The history's whole lines from byte ``offset`` on, and the offset after them."""
        path = self.root / "jobs" / _checked_id(job_id) / _EPOCHS
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                blob = f.read()
        except FileNotFoundError:
            return [], offset
        whole = blob[:blob.rfind(b"\n") + 1]
        records = []
        for line in whole.splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:  # not ours to fail on: a torn line from a crash
                continue
        return records, offset + len(whole)

    def artifact_path(self, job_id: str, name: str) -> Path:
        if not _SAFE_NAME.match(name):
            raise ValueError(f"not an artifact name: {name!r}")
        return self.root / "jobs" / _checked_id(job_id) / "artifacts" / name

    def write_artifact(self, job_id: str, name: str,
                       write: Callable[[IO[bytes]], Any]) -> dict[str, Any]:
        """Write one artifact atomically; return its listing entry."""
        path = atomic_write(self.artifact_path(job_id, name), write)
        return {"name": name, "size": path.stat().st_size, "sha256": file_sha256(path),
                "content_type": content_type(name)}

    def delete_job_files(self, job_id: str) -> None:
        shutil.rmtree(self.root / "jobs" / _checked_id(job_id), ignore_errors=True)


def open_storage(data_dir: Path) -> Storage:
    """The service's storage (the one place that chooses the backend)."""
    return Storage(data_dir)


def _checked_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"not an id: {value!r}")
    return value


__all__ = ["Storage", "atomic_write", "content_type", "file_sha256", "open_storage"]
