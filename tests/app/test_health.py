"""app.health: ``deepclsmote health``, the container's health check, on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from app.config import Settings
from app.health import check, probe_url

from .server import ROOT, LiveWorker, free_port


def _serve(run_dir: Path, data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DEEPCLSMOTE_RUN_DIR": str(run_dir), "DEEPCLSMOTE_PORT": str(port),
           "DEEPCLSMOTE_DATA_DIR": str(data_dir), "DEEPCLSMOTE_DEVICE": "cpu"}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _wait_for_file(path: Path, process: subprocess.Popen, log: Path, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"no {path.name}: {log.read_text()[-3000:]}")
        time.sleep(0.2)


def test_health_follows_the_server_started_here_and_no_other(tmp_path):
    run, other_run = tmp_path / "run", tmp_path / "other-run"
    first = _serve(run, tmp_path / "data", 0, tmp_path / "first.log")  # port 0: any free port
    try:
        _wait_for_file(run / "serve.json", first, tmp_path / "first.log")
        healthy, why = check(Settings(run_dir=run))
        assert healthy, why
        url = why.rsplit(" ", 1)[1]
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")

        # A second server on the same port cannot bind: the port answers, yet the
        # second one's health check fails (host networking with a port taken).
        port = int(url.rsplit(":", 1)[1])
        second = _serve(other_run, tmp_path / "data2", port, tmp_path / "second.log")
        assert second.wait(timeout=120) != 0
        assert not check(Settings(run_dir=other_run))[0]
        assert check(Settings(run_dir=None, port=port))[0]  # something does answer there

        first.terminate()  # SIGTERM: a graceful stop forgets the record
        first.wait(timeout=60)
        healthy, why = check(Settings(run_dir=run))
        assert not healthy and "nothing has started" in why
    finally:
        first.kill()


def test_a_record_of_a_dead_process_is_unhealthy(tmp_path):
    (tmp_path / "serve.json").write_text('{"pid": 999999999, "url": "http://127.0.0.1:1"}')
    healthy, why = check(Settings(run_dir=tmp_path))
    assert not healthy and "has exited" in why


def test_without_a_run_dir_health_asks_the_configured_port(server):
    assert check(Settings(run_dir=None, port=server.port))[0]
    healthy, why = check(Settings(run_dir=None, port=free_port()), timeout=1)
    assert not healthy and "ConnectError" in why


def test_the_command_imports_neither_torch_nor_the_library(server):
    code = ("import sys; from app.console import main; rc = main(['health']); "
            "sys.exit(rc if rc else 10 * any(m.split('.')[0] in ('torch', 'deepclsmote') "
            "for m in sys.modules))")
    env = {**os.environ, "DEEPCLSMOTE_PORT": str(server.port)}
    env.pop("DEEPCLSMOTE_RUN_DIR", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"healthy: {probe_url('127.0.0.1', server.port)} answers")


@pytest.mark.parametrize(("host", "url"), [("0.0.0.0", "http://127.0.0.1:80"),
                                           ("::", "http://[::1]:80"),
                                           ("10.1.2.3", "http://10.1.2.3:80"),
                                           ("fe80::1", "http://[fe80::1]:80")])
def test_probe_url_reaches_a_wildcard_through_the_loopback(host, url):
    assert probe_url(host, 80) == url


def test_a_worker_is_healthy_while_it_consumes(tmp_path, postgres_url, redis_url):
    from app.db.migrate import upgrade
    from app.db.session import make_engine

    engine = make_engine(postgres_url)
    upgrade(engine)
    engine.dispose()
    run = tmp_path / "run"
    env = {**os.environ, "DEEPCLSMOTE_DATABASE_URL": postgres_url,
           "DEEPCLSMOTE_BROKER_URL": redis_url, "DEEPCLSMOTE_DATA_DIR": str(tmp_path / "store"),
           "DEEPCLSMOTE_QUEUE": f"test-{uuid.uuid4().hex[:8]}", "DEEPCLSMOTE_RUN_DIR": str(run)}
    worker = LiveWorker("health", tmp_path, env).start()
    try:
        _wait_for_file(run / "worker.json", worker.process, worker.log)
        settings = Settings(run_dir=run, database_url=postgres_url, broker_url=redis_url)
        healthy, why = check(settings)
        assert healthy and "worker" in why, why
        lost = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
        healthy, why = check(lost, timeout=1)
        assert not healthy and "broker does not answer" in why

        worker.process.terminate()  # Celery's warm shutdown forgets the record
        worker.process.wait(timeout=60)
        assert not (run / "worker.json").exists()
        assert not check(settings)[0]
    finally:
        worker.kill()
