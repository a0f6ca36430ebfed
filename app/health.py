"""``deepclsmote health``: does the service or worker started here answer?

``serve`` and ``worker`` record themselves in ``DEEPCLSMOTE_RUN_DIR`` (a
directory private to the host or container, ``/tmp/deepclsmote`` in the image)
once they are ready, and remove the record when they stop:

- ``serve.json``: the process id and the URL it listens on, written after its
  socket is bound, so the check follows the port the server was given
  (``DEEPCLSMOTE_PORT``, ``--port`` or 0). A server that could not bind (another
  process holds the port, as can happen with host networking) records nothing,
  and the check fails even though something answers on that port.
- ``worker.json``: the process id, written when the Celery worker consumes.

``check`` reads the records: a server must be alive and answer ``/v1/health``;
a worker must be alive and reach its broker and database. Without a run
directory, it asks ``/v1/health`` on ``DEEPCLSMOTE_PORT`` of the loopback.

This module imports neither torch nor the library: a container's health check
runs it every 30 seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx

from .config import Settings

PARTS = ("serve", "worker")


def record(run_dir: Path, part: str, **info: object) -> None:
    """Write ``<run_dir>/<part>.json`` with this process's id and ``info``, atomically."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"{part}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), **info}))
    os.replace(tmp, path)


def forget(run_dir: Path, part: str, *, only_mine: bool = True) -> None:
    """Remove ``part``'s record: only this process's own, unless ``only_mine`` is false."""
    path = run_dir / f"{part}.json"
    if only_mine and _read(path).get("pid") != os.getpid():
        return
    path.unlink(missing_ok=True)


def probe_url(host: str, port: int) -> str:
    """The URL that reaches a server listening on ``host``: the loopback for a wildcard."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host.strip('[]')}]"
    return f"http://{host}:{port}"


def _read(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _answers(url: str, timeout: float) -> str | None:
    """``None`` if ``url``'s ``/v1/health`` says ok, else what went wrong."""
    try:
        response = httpx.get(f"{url}/v1/health", timeout=timeout)
    except httpx.HTTPError as exc:
        return f"{url}/v1/health: {type(exc).__name__} {exc}".rstrip()
    if response.status_code != 200:
        return f"{url}/v1/health answered {response.status_code}"
    return None


def _worker_reaches(settings: Settings, timeout: float) -> str | None:
    """``None`` if the broker and the database answer, else which one does not."""
    from kombu import Connection
    from sqlalchemy import text

    from .db.session import make_engine

    try:
        with Connection(settings.broker_url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                   timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any transport's error means unreachable
        return f"the broker does not answer: {type(exc).__name__} {exc}"
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver's error means unreachable
        return f"the database does not answer: {type(exc).__name__}"
    finally:
        engine.dispose()
    return None


def check(settings: Settings, *, timeout: float = 4.0) -> tuple[bool, str]:
    """``(healthy, one line saying why)`` for what runs here (see the module's text)."""
    if settings.run_dir is None:
        url = probe_url("127.0.0.1", settings.port)
        problem = _answers(url, timeout)
        return problem is None, problem or f"{url} answers"
    records = {part: _read(settings.run_dir / f"{part}.json") for part in PARTS}
    records = {part: info for part, info in records.items() if info}
    if not records:
        return False, f"nothing has started here yet (no record in {settings.run_dir})"
    said = []
    for part, info in records.items():
        pid = info.get("pid")
        if not _alive(pid):
            return False, f"{part} (pid {pid}) has exited"
        if part == "serve":
            problem = _answers(str(info.get("url")), timeout)
            said.append(f"serve (pid {pid}) answers on {info.get('url')}")
        else:
            problem = _worker_reaches(settings, timeout)
            said.append(f"worker (pid {pid}) reaches its broker and database")
        if problem:
            return False, f"{part} (pid {pid}): {problem}"
    return True, "; ".join(said)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=4.0,
                        help="seconds to wait for each answer (default 4)")


def main(argv: list[str] | None = None) -> int:
    """``deepclsmote health [--timeout S]``: exit 0 and say so when healthy, else exit 1."""
    parser = argparse.ArgumentParser(prog="deepclsmote health", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: a bad DEEPCLSMOTE_ variable
        print(f"unhealthy: the settings do not read: {exc}")
        return 1
    healthy, why = check(settings, timeout=args.timeout)
    print(f"{'healthy' if healthy else 'unhealthy'}: {why}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
