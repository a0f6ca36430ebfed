"""A real service process on a free loopback port, for tests that talk HTTP to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``uvicorn app.main:create_app --factory`` in a subprocess; restartable and killable.

    With ``cli=True`` it is ``deepclsmote serve --port P --data-dir D`` instead, as a
    person starts it (``make serve``).
    """

    def __init__(self, data_dir: Path, *, file_size_limit: int | None = None,
                 cli: bool = False, port: int | None = None, **settings: str):
        self.data_dir = Path(data_dir)
        self.file_size_limit = file_size_limit  # RLIMIT_FSIZE: a disk that fills up
        self.cli = cli
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DEEPCLSMOTE_DATA_DIR": str(self.data_dir),
                    "DEEPCLSMOTE_DEVICE": "cpu", "DEEPCLSMOTE_TORCH_THREADS": "1",
                    "DEEPCLSMOTE_POLL_SECONDS": "0.1", "DEEPCLSMOTE_CHECKPOINT_EVERY": "1",
                    **{f"DEEPCLSMOTE_{k.upper()}": str(v) for k, v in settings.items()}}
        self.process: subprocess.Popen | None = None
        self.log = self.data_dir / "server.log"

    @property
    def command(self) -> list[str]:
        if self.cli:
            return [sys.executable, "-m", "app", "serve", "--port", str(self.port),
                    "--data-dir", str(self.data_dir)]
        return [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]

    def start(self, timeout: float = 90.0) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log, "ab")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=self._limits if self.file_size_limit else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the service did not start: {self.log.read_text()[-3000:]}")

    def _limits(self) -> None:  # in the child, before exec; job processes inherit it
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size_limit, self.file_size_limit))

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": api_key} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def wait_for(client: httpx.Client, job_id: str, statuses=("succeeded", "failed", "cancelled"),
             timeout: float = 240.0, until=None) -> dict:
    """Poll a job until its status is in ``statuses`` (or ``until(job)`` holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses if until is None else until(job):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} still {job['status']}: {job}")


class LiveWorker:
    """``deepclsmote worker`` (a Celery worker) in a subprocess; killable like a crash."""

    def __init__(self, name: str, log_dir: Path, env: dict[str, str],
                 args: list[str] | None = None):
        self.name = name
        self.env = env
        self.args = ["--name", f"{name}@test"] if args is None else args
        self.log = Path(log_dir) / f"worker-{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> LiveWorker:
        log = open(self.log, "ab")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker", *self.args],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.log.read_text()[-3000:]}")
            if b" ready." in self.log.read_bytes():
                return self
            time.sleep(0.2)
        raise TimeoutError(f"worker {self.name} did not start: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    stop = kill  # a test's workers have nothing to finish


def children(pid: int) -> list[int]:
    """Spawned children (job processes) of a process."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            out.append(int(stat.parent.name))
    return out


class Cluster:
    """An API node and workers sharing a database, a broker queue and a storage root."""

    def __init__(self, root: Path, database_url: str, broker_url: str):
        self.root = root
        self.settings = {"database_url": database_url, "broker_url": broker_url,
                         "queue": f"test-{uuid.uuid4().hex[:8]}", "lease_seconds": "4",
                         "requeue_after": "2"}
        from app.db.migrate import upgrade
        from app.db.session import make_engine

        engine = make_engine(database_url)
        upgrade(engine)
        engine.dispose()
        self.api = LiveServer(root / "store", **self.settings)
        self.workers: dict[str, LiveWorker] = {}

    def start(self, n_workers: int) -> Cluster:
        self.api.start()
        for i in range(n_workers):
            self.add_worker(f"w{i}")
        return self

    def add_worker(self, name: str, args: list[str] | None = None,
                   **settings: str) -> LiveWorker:
        env = {**self.api.env, **{f"DEEPCLSMOTE_{k.upper()}": v for k, v in settings.items()}}
        worker = LiveWorker(name, self.root, env, args).start()
        self.workers[name] = worker
        return worker

    def stop(self) -> None:
        for w in self.workers.values():
            w.stop()
        self.api.stop()

    def busy(self) -> dict[str, list[int]]:
        """Workers running a job process right now."""
        return {name: kids for name, w in self.workers.items()
                if w.process and (kids := children(w.process.pid))}
