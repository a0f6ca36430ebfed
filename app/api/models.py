"""/v1/models: list, read, delete, upload a saved model, and small synchronous samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, File, Request, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from .. import uploads
from ..db.tables import Model
from ..errors import Conflict, NotFound, responses
from ..jobs import service
from ..schemas import ModelPublic, SampleParams
from ..service_info import VERSION
from . import links
from .deps import (
    TOTAL_COUNT,
    TOTAL_HEADER,
    CatalogDep,
    Limit,
    Offset,
    SettingsDep,
    StorageDep,
    StoreDep,
    TenantDep,
)

router = APIRouter(prefix="/v1/models", tags=["models"])


def _model(model_id: str, tenant: str, catalog):
    row = catalog.model(model_id, tenant=tenant)
    if row is None:
        raise NotFound(f"model {model_id} not found", code="model_not_found")
    return row


@router.get("", response_model=list[ModelPublic],
            responses={**responses(401), 200: {"links": links.FIRST_MODEL,
                                               "headers": TOTAL_HEADER}})
def list_models(response: Response, tenant: TenantDep, catalog: CatalogDep,
                dataset_id: str | None = None, limit: Limit = 100,
                offset: Offset = 0) -> list[ModelPublic]:
    """Models, newest first, a page at a time; ``X-Total-Count`` says how many in all."""
    rows = catalog.models(tenant=tenant, dataset_id=dataset_id, limit=limit, offset=offset)
    response.headers[TOTAL_COUNT] = str(catalog.count(Model, tenant=tenant,
                                                      dataset_id=dataset_id))
    names = catalog.names(tenant=tenant, dataset_ids=[m.dataset_id for m in rows])
    return [ModelPublic.of(m, names) for m in rows]


@router.get("/{model_id}", response_model=ModelPublic,
            responses={**responses(401, 404), 200: {"links": links.MODEL}})
def get_model(model_id: str, tenant: TenantDep, catalog: CatalogDep) -> ModelPublic:
    row = _model(model_id, tenant, catalog)
    return ModelPublic.of(row, catalog.names(tenant=tenant, dataset_ids=[row.dataset_id]))


@router.delete("/{model_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(401, 404, 409))
def delete_model(model_id: str, tenant: TenantDep, catalog: CatalogDep, store: StoreDep,
                 storage: StorageDep) -> Response:
    row = _model(model_id, tenant, catalog)
    if store.uses(model_id=row.id):
        raise Conflict(f"model {row.id} is used by a queued or running job",
                       code="model_in_use")
    catalog.delete(row)
    storage.delete_model(row.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ModelPublic,
             responses={**responses(400, 401, 413, 422), 201: {"links": links.UPLOADED_MODEL}})
async def upload_model(
    file: Annotated[UploadFile, File(description="a .zip of the folder that the library's "
                                                 "save() wrote: config.json and weights.pt")],
    request: Request, response: Response, tenant: TenantDep, settings: SettingsDep,
    storage: StorageDep, catalog: CatalogDep,
) -> ModelPublic:
    """Validate a saved model (weights only, never unpickled) and store it."""
    dest = storage.upload_path(".zip")
    size = await uploads.receive(file, dest, max_bytes=settings.max_upload_bytes)
    row = await run_in_threadpool(
        uploads.store_model_upload, dest, tenant=tenant, size=size, storage=storage,
        catalog=catalog, inspect=request.app.state.helper, library=VERSION)
    response.headers["Location"] = f"/v1/models/{row.id}"
    return ModelPublic.of(row, catalog.names(tenant=tenant))


@router.post("/{model_id}/samples", responses={
    **responses(400, 401, 404, 422, 503),
    200: {"content": {"application/octet-stream": {}},
          "description": "an .npz with arrays images and labels",
          "headers": {"X-Random-State": {
              "description": "the seed these images were drawn with: the request's "
                             "random_state, or a fresh one; send it as random_state to draw "
                             "the same images again",
              "schema": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}}}}})
async def sample_now(model_id: str, request: Request, tenant: TenantDep,
                     settings: SettingsDep, catalog: CatalogDep, storage: StorageDep,
                     params: Annotated[SampleParams, Body()]) -> Response:
    """A few synthetic images at once (at most ``max_sync_samples``), as ``.npz``.

    Without ``random_state`` each request draws new images, from a fresh seed that the
    ``X-Random-State`` header names."""
    row = _model(model_id, tenant, catalog)
    service.check_strategy(params.sampling_strategy, [c["name"] for c in row.classes])
    seed = params.random_state if params.random_state is not None else service.fresh_seed()
    blob = await run_in_threadpool(
        request.app.state.helper.call, "sample", str(storage.model_dir(row.id)),
        params.sampling_strategy, seed, settings.device, settings.max_sync_samples,
        params.near_copies)
    return Response(blob, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{Path(row.id)}.npz"',
                             "X-Random-State": str(seed)})
