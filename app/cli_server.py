"""The commands that run the service's parts: ``serve``, ``worker``, ``health``, ``db upgrade``."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from . import health


def _settings(args: argparse.Namespace, **names: str):
    from .config import Settings

    overrides = {field: getattr(args, arg) for field, arg in names.items()}
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _error(message: str) -> None:
    print(f"deepclsmote: error: {message}", file=sys.stderr)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .main import create_app

    settings = _settings(args, host="host", port="port", data_dir="data_dir", device="device")
    if settings.open_mode and not _is_loopback(settings.host):
        _error(f"refusing to listen on {settings.host} without API keys: anyone who can "
               f"reach it could use the service. Set DEEPCLSMOTE_API_KEYS "
               f"('tenant:key,...') or listen on 127.0.0.1")
        return 2
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.host,
                                           port=settings.port))
    if settings.run_dir is not None:
        _record_while_listening(server, settings.run_dir, settings.host)
    server.run()
    return 0 if server.started else 1


def _record_while_listening(server, run_dir: Path, host: str) -> None:  # noqa: ANN001 (uvicorn)
    """For `deepclsmote health`: record ``server`` once it has bound its socket (a failed
    bind never does) and forget it when it starts shutting down.

    (uvicorn re-raises SIGTERM after its graceful shutdown, so code after ``run`` does
    not run then.)
    """
    health.forget(run_dir, "serve", only_mine=False)  # a record left by a killed server
    startup, shutdown = server.startup, server.shutdown

    async def startup_then_record(sockets=None) -> None:  # noqa: ANN001 (uvicorn's signature)
        await startup(sockets)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            health.record(run_dir, "serve", url=health.probe_url(host, port))

    async def forget_then_shutdown(sockets=None) -> None:  # noqa: ANN001
        health.forget(run_dir, "serve")
        await shutdown(sockets)

    server.startup, server.shutdown = startup_then_record, forget_then_shutdown


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings(args, data_dir="data_dir", device="device",
                         jobs_per_device="jobs_per_device")
    if not settings.broker_url:
        _error("a worker needs the broker: set DEEPCLSMOTE_BROKER_URL (redis://... or "
               "amqp://...) and DEEPCLSMOTE_DATABASE_URL, as on the API node")
        return 2
    from .db.migrate import ensure_schema
    from .db.session import make_engine
    from .jobs.distributed import run_worker

    engine = make_engine(settings.sqlalchemy_url)
    try:
        ensure_schema(engine)
    except RuntimeError as exc:
        _error(str(exc))
        return 2
    finally:
        engine.dispose()
    if settings.run_dir is not None:
        _record_worker(settings.run_dir)
    run_worker(settings, gpu=args.gpu, name=args.name)
    return 0


def _record_worker(run_dir: Path) -> None:
    """For `deepclsmote health`: this worker, from when it consumes until it shuts down."""
    from celery.signals import worker_ready, worker_shutdown

    health.forget(run_dir, "worker", only_mine=False)  # a record left by a killed worker
    worker_ready.connect(lambda **_: health.record(run_dir, "worker"), weak=False)
    worker_shutdown.connect(lambda **_: health.forget(run_dir, "worker"), weak=False)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .db.migrate import current, upgrade
    from .db.session import make_engine

    settings = _settings(args, data_dir="data_dir")
    engine = make_engine(settings.sqlalchemy_url)
    before = current(engine)
    upgrade(engine, args.revision)
    print(f"database schema: {before or 'empty'} -> {current(engine)}")
    engine.dispose()
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the HTTP service (API and job scheduler)")
    serve.add_argument("--host", help="default: $DEEPCLSMOTE_HOST or 127.0.0.1; another "
                                      "address needs DEEPCLSMOTE_API_KEYS")
    serve.add_argument("--port", type=int, help="default: $DEEPCLSMOTE_PORT or 8000")
    serve.add_argument("--data-dir", help="default: $DEEPCLSMOTE_DATA_DIR or deepclsmote-data")
    serve.add_argument("--device", help="jobs' torch device: auto, cpu, cuda, cuda:1")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a GPU worker of the scaled-out service "
                                           "(Celery; needs DEEPCLSMOTE_BROKER_URL)")
    worker.add_argument("--gpu", type=int, help="pin the worker to this GPU "
                                                "(CUDA_VISIBLE_DEVICES); default: as set")
    worker.add_argument("--name", help="Celery node name (default gpuN@host)")
    worker.add_argument("--jobs-per-device", type=int,
                        help="jobs this worker runs at once on its GPU, each admitted when its "
                             "memory estimate fits (default: $DEEPCLSMOTE_JOBS_PER_DEVICE or 1)")
    worker.add_argument("--data-dir", help="the storage root all hosts mount")
    worker.add_argument("--device", help="default: $DEEPCLSMOTE_DEVICE or auto")
    worker.set_defaults(func=cmd_worker)

    check = sub.add_parser("health", help="exit 0 if the server or worker started here "
                                          "answers (a container's health check)")
    health.add_arguments(check)
    check.set_defaults(func=health.run)

    db = sub.add_parser("db", help="database schema migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="bring the schema to the latest revision")
    up.add_argument("revision", nargs="?", default="head")
    up.add_argument("--data-dir", help="where the SQLite file lives (embedded default)")
    up.set_defaults(func=cmd_db_upgrade)


__all__ = ["add_commands"]
