"""The commands that run the service's parts: ``serve``, ``worker``, ``health``, ``db upgrade``."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import socket
import sys
from typing import TYPE_CHECKING

from . import health

if TYPE_CHECKING:
    from pathlib import Path

    from .config import Settings


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
    """The service on its port. Refused, in one line, when another service has the data
    directory or something listens on the port, before the database is opened."""
    settings = _settings(args, host="host", port="port", data_dir="data_dir", device="device")
    if settings.open_mode and not _is_loopback(settings.host):
        _error(f"refusing to listen on {settings.host} without API keys: anyone who can "
               f"reach it could use the service. Set DEEPCLSMOTE_API_KEYS "
               f"('tenant:key,...') or listen on 127.0.0.1")
        return 2
    from . import datadir

    try:
        lock = None if settings.broker_url else datadir.hold(settings.data_dir)
    except datadir.DataDirInUse as exc:
        _error(str(exc))
        return 1
    try:
        try:
            sock = listen(settings.host, settings.port)
        except OSError as exc:
            _error(_listen_error(settings.host, settings.port, exc))
            return 1
        started = run_app(settings, sock)
    finally:
        if lock is not None:
            lock.release()
    return 0 if started else 1


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, bound as uvicorn binds its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _listen_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use: stop what listens there, or pass --port"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port}: pass --port (1024 or above)"
    return f"cannot listen on {host}:{port} ({exc.strerror}): pass --host or --port"


def run_app(settings: Settings, sock: socket.socket) -> bool:
    """uvicorn on the bound socket until it is told to stop; ``False`` if it never started
    (the application's start-up failed, and uvicorn said why)."""
    import uvicorn

    from .main import create_app

    run_dir = settings.run_dir
    if run_dir is not None:   # for `deepclsmote health`: a record left by a killed server goes
        health.forget(run_dir, "serve", only_mine=False)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # uvicorn says where it listens only on sockets it bound itself
                port = sock.getsockname()[1]
                logging.getLogger("uvicorn.error").info(
                    "deepclsmote is serving on http://%s:%d (the dashboard at /, the API's "
                    "documentation at /docs); press Ctrl+C to stop", settings.host, port)
                if run_dir is not None:     # healthy from the moment it listens...
                    health.record(run_dir, "serve", url=health.probe_url(settings.host, port))

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if run_dir is not None:         # ...until it starts stopping
                health.forget(run_dir, "serve")
            await super().shutdown(sockets)

    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port)
    server = Server(config)
    server.run(sockets=[sock])
    return server.started


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
    worker.add_argument("--name", help="Celery node name, %%h the host (default gpuN@host, "
                                       "N the GPU)")
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
