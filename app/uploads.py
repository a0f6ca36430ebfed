"""Receiving datasets: stream to disk, validate (app.ingest), store canonically, record.

A dataset is stored as one ``.npz`` of canonical arrays (uint8 images, int
labels, class names) written atomically, and only then recorded in the
database; a failure at any step removes what that step wrote, so a refused or
interrupted upload leaves the store exactly as it was. An upload whose
canonical arrays are those of a dataset the tenant already has is not stored
again: that dataset is the answer, marked a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
from fastapi import UploadFile

from deepclsmote.datasets import ImageDataset

from .config import Settings
from .db.catalog import Catalog
from .db.store import new_id
from .db.tables import Dataset, Model
from .errors import InvalidInput, PayloadTooLarge
from .ingest import UploadError, UploadLimits, UploadOptions, manifest, read_upload
from .storage import Storage

logger = logging.getLogger(__name__)
_CHUNK = 1 << 20
# Looking for a duplicate and storing a new dataset happen as one step in this process.
_STORE_LOCK = threading.Lock()


def limits(settings: Settings) -> UploadLimits:
    return UploadLimits(max_bytes=settings.max_upload_bytes,
                        max_entries=settings.max_zip_entries, max_ratio=settings.max_zip_ratio,
                        max_pixels=settings.max_image_pixels,
                        max_source_pixels=settings.max_source_pixels,
                        max_images=settings.max_upload_images)


async def receive(upload: UploadFile, dest: Path, *, max_bytes: int) -> int:
    """Copy the uploaded file to ``dest``; 413 past ``max_bytes``."""
    size = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(dest, "wb") as out:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"the upload is larger than the limit of {max_bytes} "
                                          f"bytes")
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return size


def content_sha256(images: np.ndarray, labels: np.ndarray, classes: list[str]) -> str:
    """The identity of a dataset's content, whatever file format it came in."""
    h = hashlib.sha256()
    h.update(json.dumps([list(images.shape), str(images.dtype), classes]).encode())
    h.update(np.ascontiguousarray(images).data)
    h.update(np.ascontiguousarray(labels.astype(np.int64)).data)
    return h.hexdigest()


def _record(*, tenant: str, name: str, data: ImageDataset, source_format: str,
            upload_bytes: int, builtin: bool, storage: Storage, catalog: Catalog,
            sha256: str | None = None) -> Dataset:
    info = manifest(data)
    classes = list(data.classes)
    row = Dataset(id=new_id(), tenant=tenant, name=name[:200],
                  sha256=sha256 or content_sha256(data.images, data.labels, classes),
                  source_format=source_format, n_images=info["n_images"],
                  image_shape=info["image_shape"], classes=info["classes"],
                  imbalance_ratio=info["imbalance_ratio"], conversions=info["conversions"],
                  upload_bytes=upload_bytes, builtin=builtin, created_at=time.time())
    storage.write_dataset(row.id, data.images, data.labels.astype(np.int64), classes)
    try:
        catalog.add(row)
    except BaseException:
        storage.delete_dataset(row.id)
        raise
    return row


def store_upload(path: Path, *, filename: str, name: str | None, options: UploadOptions,
                 tenant: str, size: int, settings: Settings, storage: Storage,
                 catalog: Catalog) -> tuple[Dataset, bool]:
    """Validate the received file and store it as a dataset (blocking: run in a thread).

    Returns the dataset and whether it was already stored: an upload whose
    canonical arrays match one of the tenant's datasets is that dataset.
    """
    try:
        fmt, data = read_upload(path, filename, limits(settings), options)
    except UploadError as exc:
        raise InvalidInput(exc.message, code=exc.code) from exc
    finally:
        path.unlink(missing_ok=True)
    sha256 = content_sha256(data.images, data.labels, list(data.classes))
    with _STORE_LOCK:
        existing = catalog.dataset_by_content(tenant=tenant, sha256=sha256)
        if existing is not None:
            logger.info("upload %s is dataset %s again", filename, existing.id)
            return existing, True
        return _record(tenant=tenant, name=name or Path(filename).stem or "dataset", data=data,
                       source_format=fmt, upload_bytes=size, builtin=False, storage=storage,
                       catalog=catalog, sha256=sha256), False


_MODEL_FILES = {"config.json": 1 << 20, "weights.pt": 1 << 30}


def _unpack_model(archive: Path, dest: Path) -> None:
    """A model zip holds config.json and weights.pt (at the top or in one folder), no more."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput("a model upload must be a .zip of the folder that save() wrote",
                           code="invalid_model") from exc
    with zf:
        files = [i for i in zf.infolist() if not i.is_dir()]
        by_name = {PurePosixPath(i.filename).name: i for i in files}
        if len(files) != len(_MODEL_FILES) or set(by_name) != set(_MODEL_FILES) or any(
                len(PurePosixPath(i.filename).parts) > 2 or i.filename.startswith("/")
                or ".." in PurePosixPath(i.filename).parts for i in files):
            raise InvalidInput(f"a model zip holds exactly {sorted(_MODEL_FILES)}; got "
                               f"{[i.filename for i in files][:10]}", code="invalid_model")
        dest.mkdir(parents=True)
        for name, info in by_name.items():
            if info.file_size > _MODEL_FILES[name] or (info.external_attr >> 16) & 0o170000 \
                    == 0o120000:
                raise InvalidInput(f"{name} is too large or a link", code="invalid_model")
            with zf.open(info) as src, open(dest / name, "wb") as out:
                shutil.copyfileobj(src, out)


def store_model_upload(path: Path, *, tenant: str, size: int, storage: Storage,
                       catalog: Catalog, inspect, library: str) -> Model:  # noqa: ANN001
    """Validate an uploaded model in the helper process (weights only) and store it."""
    unpacked = path.with_suffix(".d")
    try:
        _unpack_model(path, unpacked)
        info = inspect.call("inspect_model", str(unpacked))
        row = Model(id=new_id(), tenant=tenant, dataset_id=None, job_id=None,
                    method=info["method"], recipe=info["recipe"], params=info["params"],
                    fingerprint=None,
                    library_version=library, classes=info["classes"],
                    image_shape=info["image_shape"], created_at=time.time())
        storage.install_model(row.id, lambda tmp: shutil.copytree(unpacked, tmp))
        try:
            catalog.add(row)
        except BaseException:
            storage.delete_model(row.id)
            raise
        return row
    finally:
        path.unlink(missing_ok=True)
        shutil.rmtree(unpacked, ignore_errors=True)


def seed_builtin(*, tenant: str, storage: Storage, catalog: Catalog) -> list[Dataset]:
    """scikit-learn's digits, balanced and an imbalanced view of it, present for every tenant
    from the first start (the second answers "does oversampling help?" in minutes)."""
    from deepclsmote.datasets import load_digits, load_digits_imbalanced

    rows = []
    for name, load in (("digits", load_digits), ("digits-imbalanced", load_digits_imbalanced)):
        existing = catalog.builtin_dataset(tenant=tenant, name=name)
        rows.append(existing or _record(tenant=tenant, name=name, data=load(),
                                        source_format="builtin", upload_bytes=0, builtin=True,
                                        storage=storage, catalog=catalog))
    return rows


__all__ = ["content_sha256", "limits", "receive", "seed_builtin", "store_model_upload",
           "store_upload"]
