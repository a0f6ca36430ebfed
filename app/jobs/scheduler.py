"""The embedded scheduler: claims queued jobs and runs each in a spawned child process.

It runs in a thread of the service process, so the event loop never waits on
it. Jobs start in fair order across tenants (submission order within one),
up to ``jobs_per_device`` at a time and only while their estimated memory
fits the device (:mod:`~app.jobs.admission`); each
is a :class:`~app.jobs.supervisor.JobRun`, which renews the job's lease,
kills the child of a cancelled job (freeing its GPU memory) and decides how
the job ended. In scale-out mode (a broker URL is set) the service does not
run jobs itself: it enqueues them, and this thread only reconciles (expired
leases, queued rows whose message was lost).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..db.store import JobStore
from ..storage import Storage
from . import runner
from .admission import Device, budget, claim_next
from .supervisor import SPAWN, JobRun

logger = logging.getLogger(__name__)


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """Claim, spawn, watch. One per service process."""

    def __init__(self, settings: Settings, store: JobStore, storage: Storage,
                 reconcile: Callable[[], Any] | None = None):
        self.settings, self.store, self.storage = settings, store, storage
        self.reconcile = reconcile
        self.owner = node_name()
        self.running: dict[str, JobRun] = {}
        self.device: dict[str, Any] = {}
        self.slots = Device(settings)
        self._noted: dict[str, str] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def runs_jobs(self) -> bool:
        return self.reconcile is None

    # --- lifecycle --------------------------------------------------------
    def start(self) -> None:
        if self.runs_jobs:  # embedded: whatever was running died with the last process
            for job_id, status in self.store.recover(expired_only=False).items():
                logger.warning("job %s was running when the service stopped: now %s",
                               job_id, status)
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        if self.runs_jobs:
            threading.Thread(target=self._probe, name="device-probe", daemon=True).start()

    def stop(self) -> None:
        """Stop claiming; kill running children and queue their jobs again."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for run in list(self.running.values()):
            run.release("the service stopped")
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
        self.store.recover(expired_only=True)
        if self.reconcile is not None:
            self.reconcile()
            return
        for job_id, run in list(self.running.items()):
            if run.poll():
                del self.running[job_id]
                self.slots.release(job_id)
        while not self._stop.is_set():
            job = claim_next(self.store, self.slots, self.owner, self.settings.lease_seconds,
                             self._noted)
            if job is None:
                break
            self.running[job.id] = JobRun(job.id, self.owner, self.settings, self.store,
                                          self.storage).start()

    def _probe(self) -> None:
        parent, child = SPAWN.Pipe(duplex=False)
        process = SPAWN.Process(target=runner.probe_device, name="device-probe",
                                args=(self.settings.model_dump_json(), child), daemon=True)
        process.start()
        child.close()
        if parent.poll(120):
            self.device = parent.recv()
            self.slots.limit = budget(self.settings, self.device.get("memory_total"))
        process.join(timeout=5)


__all__ = ["Scheduler", "node_name"]
