"""The embedded scheduler: claims queued jobs and runs each in a spawned child process.

It runs in a thread of the service process, so the event loop never waits on
it. Jobs start in submission order, ``max_concurrent_jobs`` at a time. A
running job's lease is renewed while its child lives; a cancelled job's child
is killed (which frees its GPU memory). :meth:`Scheduler._reap` is the one
place that decides how a job ends.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from ..config import Settings
from ..db.store import JobStore
from ..db.tables import JobStatus
from ..storage import Storage
from . import runner

logger = logging.getLogger(__name__)
_SPAWN = mp.get_context("spawn")


@dataclass
class _Running:
    process: BaseProcess
    started: float
    beat: float


class Scheduler:
    """Claim, spawn, watch, reap. One per service process."""

    def __init__(self, settings: Settings, store: JobStore, storage: Storage):
        self.settings, self.store, self.storage = settings, store, storage
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.running: dict[str, _Running] = {}
        self.device: dict[str, Any] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------
    def start(self) -> None:
        recovered = self.store.recover(expired_only=False)
        for job_id, status in recovered.items():
            logger.warning("job %s was running when the service stopped: now %s", job_id, status)
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        threading.Thread(target=self._probe, name="device-probe", daemon=True).start()

    def stop(self) -> None:
        """Stop claiming; kill running children and queue their jobs again."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for job_id, run in list(self.running.items()):
            run.process.kill()
            run.process.join(timeout=10)
            self.store.release(job_id, self.owner, reason="the service stopped")
        self.running.clear()

    def wake(self) -> None:
        """A job was submitted or cancelled: look now rather than at the next poll."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the loop ---------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the scheduler
                logger.exception("scheduler tick failed; retrying")
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()

    def tick(self) -> None:
        now = time.monotonic()
        for job_id, run in list(self.running.items()):
            if not run.process.is_alive():
                run.process.join()
                self._reap(job_id, run)
            elif self.store.cancel_requested(job_id):
                run.process.kill()
                run.process.join(timeout=10)
                self._reap(job_id, run)
            elif now - run.beat > self.settings.lease_seconds / 3:
                if self.store.heartbeat(job_id, self.owner, self.settings.lease_seconds):
                    run.beat = now
                else:  # another node took the job over: ours must not go on
                    run.process.kill()
                    run.process.join(timeout=10)
                    del self.running[job_id]
        self.store.recover(expired_only=True)
        while len(self.running) < self.settings.max_concurrent_jobs and not self._stop.is_set():
            job = self.store.claim(self.owner, self.settings.lease_seconds)
            if job is None:
                break
            self._spawn(job.id)

    def _spawn(self, job_id: str) -> None:
        process = _SPAWN.Process(
            target=runner.run_job, name=f"job-{job_id[:8]}", daemon=False,
            args=(job_id, self.owner, self.settings.model_dump_json(), os.getpid()))
        process.start()
        now = time.monotonic()
        self.running[job_id] = _Running(process, now, now)
        logger.info("job %s started in process %s", job_id, process.pid)

    def _reap(self, job_id: str, run: _Running) -> None:
        """How a job ends: the one place that decides it."""
        del self.running[job_id]
        work = self.storage.work_dir(job_id)
        outcome = runner.read_outcome(work)  # a complete outcome wins over a late cancel
        if outcome is None and self.store.cancel_requested(job_id):
            done = self.store.finish(job_id, self.owner, JobStatus.CANCELLED)
        elif outcome is not None and outcome["status"] == "succeeded":
            done = self.store.finish(job_id, self.owner, JobStatus.SUCCEEDED,
                                     result=outcome["result"],
                                     model=runner.model_row(outcome.get("model")))
        elif outcome is not None:
            code, message = outcome["error"]
            done = self.store.finish(job_id, self.owner, JobStatus.FAILED, error=(code, message))
        else:
            status = self.store.release(job_id, self.owner,
                                        reason=f"exit code {run.process.exitcode}")
            logger.warning("job %s process ended without an outcome (exit code %s): %s",
                           job_id, run.process.exitcode, status)
            return
        logger.info("job %s ended (%s) after %.1f s", job_id,
                    outcome["status"] if outcome else "cancelled", time.monotonic() - run.started)
        if not done:
            logger.warning("job %s was no longer ours when it ended", job_id)

    def _probe(self) -> None:
        parent, child = _SPAWN.Pipe(duplex=False)
        process = _SPAWN.Process(target=runner.probe_device, name="device-probe",
                                 args=(self.settings.model_dump_json(), child), daemon=True)
        process.start()
        child.close()
        if parent.poll(120):
            self.device = parent.recv()
        process.join(timeout=5)


__all__ = ["Scheduler"]
