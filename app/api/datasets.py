"""/v1/datasets: upload, list, read, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from .. import previews, uploads
from ..db.tables import Dataset
from ..errors import Conflict, InvalidInput, NotFound, responses
from ..ingest import UploadOptions
from ..schemas import (
    UPLOAD_OPTIONS,
    DatasetPublic,
    DatasetUploaded,
    FitName,
    ImageMode,
    ImageSizeText,
    SplitName,
)
from . import links
from .deps import (
    TOTAL_COUNT,
    TOTAL_HEADER,
    CatalogDep,
    Limit,
    MetricsDep,
    Offset,
    SettingsDep,
    StorageDep,
    StoreDep,
    TenantDep,
    declared_fields_only,
)

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


def upload_options(
    size: Annotated[ImageSizeText | None, Form(description=UPLOAD_OPTIONS["size"])] = None,
    mode: Annotated[ImageMode | None, Form(description=UPLOAD_OPTIONS["mode"])] = None,
    fit: Annotated[FitName | None, Form(description=UPLOAD_OPTIONS["fit"])] = None,
    split: Annotated[SplitName | None, Form(description=UPLOAD_OPTIONS["split"])] = None,
    header: Annotated[bool | None, Form(description=UPLOAD_OPTIONS["header"])] = None,
) -> UploadOptions:
    """The upload options, as form fields beside the file."""
    if fit is not None and size is None:
        raise InvalidInput("fit: applies only with size=HxW, which it says how to meet",
                           code="invalid_request")
    pair = None
    if size is not None:  # "HxW", checked by its type
        height, width = size.lower().split("x")
        pair = (int(height), int(width))
    return UploadOptions(size=pair, mode=mode, fit=fit, split=split, header=header)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=DatasetUploaded,
    dependencies=[Depends(declared_fields_only)],
    responses={**responses(400, 401, 413, 422),
               201: {"description": "stored: a new dataset", "links": links.DATASET},
               200: {"model": DatasetUploaded, "links": links.DATASET,
                     "description": "the tenant already has a dataset of this canonical "
                                    "content: that dataset, with duplicate true"}})
async def upload_dataset(
    file: Annotated[UploadFile, File(description="a .zip, .tar, .tar.gz or .tgz of class "
                                                 "folders of images (or of IDX files), an "
                                                 ".npz, or a label,pixel CSV")],
    tenant: TenantDep, settings: SettingsDep, storage: StorageDep, catalog: CatalogDep,
    metrics: MetricsDep, response: Response,
    options: Annotated[UploadOptions, Depends(upload_options)],
    name: Annotated[str | None, Form(max_length=200)] = None,
) -> DatasetUploaded:
    """Validate and store a labelled image dataset; answer its manifest.

    A form field or query parameter not listed here is refused (422), never
    ignored. The manifest's ``conversions`` list every change made on the way
    in. An upload whose canonical content (images, labels, class names after
    conversion) matches one of the tenant's datasets stores nothing and
    answers that dataset with status 200 and ``duplicate: true``.
    """
    filename = Path(file.filename or "upload").name
    dest = storage.upload_path(Path(filename).suffix[:8])
    size = await uploads.receive(file, dest, max_bytes=settings.max_upload_bytes)
    row, duplicate = await run_in_threadpool(
        uploads.store_upload, dest, filename=filename, name=name, options=options,
        tenant=tenant, size=size, settings=settings, storage=storage, catalog=catalog)
    metrics.upload_bytes.inc(size)
    response.headers["Location"] = f"/v1/datasets/{row.id}"
    if duplicate:
        response.status_code = status.HTTP_200_OK
    return DatasetUploaded.model_validate({**DatasetPublic.model_validate(row).model_dump(),
                                           "duplicate": duplicate})


@router.get("", response_model=list[DatasetPublic],
            responses={**responses(401), 200: {"links": links.FIRST_DATASET,
                                               "headers": TOTAL_HEADER}})
def list_datasets(response: Response, tenant: TenantDep, catalog: CatalogDep,
                  limit: Limit = 100,
                  offset: Offset = 0) -> list[DatasetPublic]:
    """Datasets, oldest first, a page at a time; ``X-Total-Count`` says how many in all."""
    response.headers[TOTAL_COUNT] = str(catalog.count(Dataset, tenant=tenant))
    return [DatasetPublic.model_validate(r)
            for r in catalog.datasets(tenant=tenant, limit=limit, offset=offset)]


def _dataset(dataset_id: str, tenant: str, catalog):
    row = catalog.dataset(dataset_id, tenant=tenant)
    if row is None:
        raise NotFound(f"dataset {dataset_id} not found", code="dataset_not_found")
    return row


@router.get("/{dataset_id}", response_model=DatasetPublic, responses=responses(401, 404))
def get_dataset(dataset_id: str, tenant: TenantDep, catalog: CatalogDep) -> DatasetPublic:
    return DatasetPublic.model_validate(_dataset(dataset_id, tenant, catalog))


@router.get("/{dataset_id}/preview", response_class=FileResponse,
            responses={**responses(401, 404),
                       200: {"content": {"image/png": {}},
                             "description": "a PNG grid: a row per class, its first images"}})
def dataset_preview(dataset_id: str, tenant: TenantDep, catalog: CatalogDep,
                    storage: StorageDep,
                    per_class: Annotated[int, Query(ge=1, le=32)] = 8) -> FileResponse:
    """The dataset's own images, ``per_class`` of each class, as one PNG."""
    row = _dataset(dataset_id, tenant, catalog)

    def render() -> bytes:
        images, labels, classes = storage.read_dataset(row.id)
        return previews.class_grid(images, labels, classes, per_class)

    try:
        path = storage.dataset_preview(row.id, per_class, render)
    except FileNotFoundError:  # deleted between the lookup and the read
        raise NotFound(f"dataset {dataset_id} not found", code="dataset_not_found") from None
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private"})


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(401, 404, 409))
def delete_dataset(dataset_id: str, tenant: TenantDep, catalog: CatalogDep, store: StoreDep,
                   storage: StorageDep) -> Response:
    row = _dataset(dataset_id, tenant, catalog)
    if row.builtin:  # every tenant has it, and each start would bring it back
        raise Conflict(f"dataset {row.id} is the built-in {row.name!r} set, which every tenant "
                       f"has; it cannot be deleted", code="builtin_dataset")
    if store.uses(dataset_id=row.id):
        raise Conflict(f"dataset {row.id} is used by a queued or running job; cancel it or "
                       f"wait for it to finish", code="dataset_in_use")
    catalog.delete(row)
    storage.delete_dataset(row.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
