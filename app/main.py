"""The application: ``create_app(settings)`` wires routers, errors, stores and the scheduler."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import datadir
from .api import dashboard, datasets, health, jobs, models, recipes
from .api.deps import OPEN_TENANT
from .config import Settings
from .db.catalog import Catalog
from .db.migrate import ensure_schema
from .db.session import make_engine, session_factory
from .db.store import JobStore
from .errors import install_handlers
from .jobs.helper import HelperProcess
from .jobs.scheduler import Scheduler
from .limits import BodyLimit
from .metrics import Metrics
from .ratelimit import RateLimiter
from .service_info import VERSION
from .storage import open_storage
from .uploads import seed_builtin

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # embedded: one service per data directory, checked before anything is opened
        lock = None if settings.broker_url else datadir.hold(settings.data_dir)
        try:
            async with _running(app, settings, node=lock.node if lock else None):
                yield
        finally:
            if lock is not None:
                lock.release()

    app = FastAPI(
        title="deepclsmote",
        version=VERSION,
        summary="Synthetic minority images for imbalanced image datasets (DeepCLSMOTE).",
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # operationIds for links
    )
    install_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + 1024 * 1024)
    for router in (health.router, datasets.router, jobs.router, models.router,
                   recipes.router, dashboard.router):
        app.include_router(router)
    app.mount("/static", dashboard.static_files(), name="static")
    return app


@asynccontextmanager
async def _running(app: FastAPI, settings: Settings, *, node: str | None) -> AsyncIterator[None]:
    """The service's parts, started and stopped: storage, database, scheduler, helper."""
    storage = open_storage(settings.data_dir)
    storage.prepare()
    for path in storage.clean():
        logger.info("removed an interrupted write: %s", path)
    engine = make_engine(settings.sqlalchemy_url)
    ensure_schema(engine)
    sessions = session_factory(engine)
    store, catalog = JobStore(engine, sessions), Catalog(sessions)
    tenants = sorted(set(settings.key_hashes.values())) or [OPEN_TENANT]
    for tenant in tenants:
        seed_builtin(tenant=tenant, storage=storage, catalog=catalog)
    if settings.open_mode:
        logger.warning("no API keys configured (DEEPCLSMOTE_API_KEYS): the service is "
                       "open to anyone who can reach it")
    if settings.broker_url:  # scale-out: workers run the jobs; this node enqueues
        from .jobs.distributed import Dispatcher

        dispatcher = Dispatcher(settings, store)
        scheduler = Scheduler(settings, store, storage, reconcile=dispatcher.reconcile)
        app.state.dispatch = lambda job_id: dispatcher.enqueue([job_id])
    else:
        scheduler = Scheduler(settings, store, storage, node=node)
        app.state.dispatch = lambda job_id: scheduler.wake()
    helper = HelperProcess(settings)
    app.state.settings, app.state.storage = settings, storage
    app.state.store, app.state.catalog = store, catalog
    app.state.scheduler, app.state.helper = scheduler, helper
    app.state.metrics = Metrics(store)
    app.state.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    scheduler.start()
    try:
        yield
    finally:
        scheduler.stop()
        helper.stop()
        engine.dispose()


__all__ = ["create_app"]
