"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from ..schemas import Health, Ready
from .deps import MetricsDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/v1/health", response_model=Health)
def health() -> Health:
    """The process answers."""
    return Health()


@router.get("/v1/ready", response_model=Ready,
            responses={503: {"model": Ready, "description": "not ready"}})
def ready(request: Request, response: Response, store: StoreDep) -> Ready:
    """The store answers and the scheduler runs; which device jobs use, and the queue."""
    try:
        store.ping()
        counts = store.counts_by_status()
        database = "ok"
    except SQLAlchemyError as exc:
        counts, database = {}, f"unreachable: {type(exc).__name__}"
    scheduler = request.app.state.scheduler
    ok = database == "ok" and scheduler.alive
    if not ok:
        response.status_code = 503
    return Ready(ready=ok, database=database, device=scheduler.device.get("device"),
                 cuda_available=scheduler.device.get("cuda_available"),
                 queue_depth=sum(n for k, n in counts.items() if k.startswith("queued/")),
                 running=sum(n for k, n in counts.items() if k.startswith("running/")))


@router.get("/metrics", include_in_schema=False)
async def metrics(m: MetricsDep) -> Response:
    body = await run_in_threadpool(generate_latest, m.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
