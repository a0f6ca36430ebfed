"""/v1/jobs: submit, list, read, cancel, stream progress, download artifacts."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from ..db.catalog import Catalog, Names
from ..db.tables import Job
from ..errors import NotFound, responses
from ..jobs import service
from ..schemas import ArtifactPublic, JobCreate, JobPublic
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

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
JobStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL = ("succeeded", "failed", "cancelled")
#: What every event delta carries, changed or not: enough for a client to know where it is.
_IDENTITY = {"kind", "status"}


def _job(job_id: str, tenant: str, store):
    job = store.get(job_id, tenant=tenant)
    if job is None:
        raise NotFound(f"job {job_id} not found", code="job_not_found")
    return job


def owned_job(job_id: str, tenant: TenantDep, store: StoreDep) -> Job:
    """The caller's job (a dependency: it answers 404 before a stream starts)."""
    return _job(job_id, tenant, store)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic,
             responses={**responses(400, 401, 404, 409, 422, 429), 202: {"links": links.JOB}})
def submit_job(body: Annotated[JobCreate, Body()], request: Request, response: Response,
               tenant: TenantDep, settings: SettingsDep, store: StoreDep,
               catalog: CatalogDep) -> JobPublic:
    """Queue a train, generate or evaluate job; poll ``Location`` or stream its events."""
    job = service.submit(body, tenant=tenant, settings=settings, store=store, catalog=catalog)
    if job.status == "queued":
        request.app.state.dispatch(job.id)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobPublic.of(job, names_of([job], catalog, tenant))


@router.get("", response_model=list[JobPublic],
            responses={**responses(401), 200: {"links": links.FIRST_JOB,
                                               "headers": TOTAL_HEADER}})
def list_jobs(response: Response, tenant: TenantDep, store: StoreDep, catalog: CatalogDep,
              status_: Annotated[JobStatusName | None, Query(alias="status")] = None,
              kind: Literal["train", "generate", "evaluate"] | None = None,
              dataset_id: str | None = None,
              limit: Limit = 100,
              offset: Offset = 0) -> list[JobPublic]:
    """Jobs, newest first, a page at a time (``limit`` from ``offset``); the
    ``X-Total-Count`` header says how many match in all."""
    jobs = store.find(tenant=tenant, status=status_, kind=kind, dataset_id=dataset_id,
                      limit=limit, offset=offset)
    response.headers[TOTAL_COUNT] = str(store.count(tenant=tenant, status=status_, kind=kind,
                                                    dataset_id=dataset_id))
    names = names_of(jobs, catalog, tenant)
    return [JobPublic.of(j, names) for j in jobs]


@router.get("/{job_id}", response_model=JobPublic,
            responses={**responses(401, 404), 200: {"links": links.JOB}})
def get_job(job_id: str, tenant: TenantDep, store: StoreDep,
            catalog: CatalogDep) -> JobPublic:
    job = _job(job_id, tenant, store)
    return JobPublic.of(job, names_of([job], catalog, tenant))


@router.post("/{job_id}/cancel", response_model=JobPublic, responses=responses(401, 404))
def cancel_job(job_id: str, request: Request, tenant: TenantDep,
               store: StoreDep, catalog: CatalogDep) -> JobPublic:
    """Idempotent. A queued job is cancelled at once; a running job's process is killed."""
    job = service.cancel(job_id, tenant=tenant, store=store)
    request.app.state.scheduler.wake()
    return JobPublic.of(job, names_of([job], catalog, tenant))


@router.get("/{job_id}/events", response_class=EventSourceResponse,
            responses=responses(401, 404, stream=True))
async def job_events(job: Annotated[Job, Depends(owned_job)], request: Request,
                     tenant: TenantDep, store: StoreDep, catalog: CatalogDep,
                     storage: StorageDep) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: one ``snapshot``, a ``progress`` at each change, then one ``end``.

    - ``snapshot``: the job, with ``history``: the loss parts of every epoch done so far
      (``[{"epoch", "losses"}]``; a train job's), so a page opened late draws the whole curve.
    - ``progress``: a delta: ``kind``, ``status`` and only the job's fields that changed
      (``progress``, ``attempts``...), with ``history``: the epochs ended since the last event.
    - ``end``: the finished job, whole.
    """
    job_id = job.id
    poll = request.app.state.settings.poll_seconds
    last: dict | None = None
    offset = n = 0
    ahead: list[dict] = []  # epochs written before the job's row says they ended
    names = await asyncio.to_thread(names_of, [job], catalog, tenant)
    while True:
        row = await asyncio.to_thread(store.get, job_id)
        if row is None:
            return
        if row.model_id != job.model_id:  # a train job's model, at its end
            job = row
            names = await asyncio.to_thread(names_of, [job], catalog, tenant)
        public = JobPublic.of(row, names).model_dump(mode="json")
        read, offset = await asyncio.to_thread(storage.read_epochs, job_id, offset)
        ended = public["status"] in TERMINAL
        upto = None if ended else public["progress"].get("epoch") or 0
        epochs = [e for e in ahead + read if upto is None or e["epoch"] <= upto]
        ahead = [e for e in ahead + read if upto is not None and e["epoch"] > upto]
        if last is None:
            n += 1
            yield ServerSentEvent(data={**public, "history": epochs}, event="snapshot",
                                  id=str(n))
        elif epochs or (not ended and _delta(last, public).keys() - _IDENTITY):
            n += 1
            delta = _delta(last, public) | ({"history": epochs} if epochs else {})
            yield ServerSentEvent(data=delta, event="progress", id=str(n))
        if ended:
            yield ServerSentEvent(data=public, event="end", id=str(n + 1))
            return
        last = public
        if await request.is_disconnected():
            return
        await asyncio.sleep(poll)


def names_of(jobs: list[Job], catalog: Catalog, tenant: str) -> Names:
    """The names of the jobs' datasets and models."""
    return catalog.names(tenant=tenant, dataset_ids=[j.dataset_id for j in jobs],
                         model_ids=[j.model_id for j in jobs])


def _delta(before: dict, now: dict) -> dict:
    """The fields of ``now`` that differ from ``before``, and the job's kind and status."""
    return {k: v for k, v in now.items() if k in _IDENTITY or before.get(k) != v}


def _artifacts(job) -> list[dict]:
    """Only a succeeded job's artifacts exist for clients: never a partial one."""
    if job.status != "succeeded" or not job.result:
        return []
    return list(job.result.get("artifacts", []))


@router.get("/{job_id}/artifacts", response_model=list[ArtifactPublic],
            responses=responses(401, 404))
def list_artifacts(job_id: str, tenant: TenantDep, store: StoreDep) -> list[ArtifactPublic]:
    job = _job(job_id, tenant, store)
    return [ArtifactPublic(**a, url=f"/v1/jobs/{job_id}/artifacts/{a['name']}")
            for a in _artifacts(job)]


@router.get("/{job_id}/artifacts/{name}", response_class=FileResponse,
            responses={**responses(401, 404),
                       200: {"content": {"application/octet-stream": {}},
                             "description": "the artifact's bytes"}})
def download_artifact(job_id: str, name: str, tenant: TenantDep, store: StoreDep,
                      storage: StorageDep) -> FileResponse:
    job = _job(job_id, tenant, store)
    entry = next((a for a in _artifacts(job) if a["name"] == name), None)
    if entry is None:
        raise NotFound(f"job {job_id} has no artifact {name!r}", code="artifact_not_found")
    path = storage.artifact_path(job_id, name)
    if not path.is_file():
        raise NotFound(f"artifact {name!r} of job {job_id} is missing from storage",
                       code="artifact_missing")
    return FileResponse(path, media_type=entry["content_type"], filename=name,
                        headers={"X-Checksum-SHA256": entry["sha256"],
                                 "Repr-Digest": _repr_digest(entry["sha256"])})


def _repr_digest(hex_digest: str) -> str:
    """RFC 9530's header: ``sha-256=:<base64>:``."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(hex_digest)).decode()}:"
