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


def node_name(node: str | None = None) -> str:
    """A runner's lease owner: ``<node>:<pid>:<random>``, the node being the data directory's
    id (embedded) or the host name; a lease column holds 64 characters."""
    prefix = node or socket.gethostname()[:40]
    return f"{prefix}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]


class Scheduler:
    """Claim, spawn, watch. One per service process."""

    def __init__(self, settings: Settings, store: JobStore, storage: Storage,
                 reconcile: Callable[[], Any] | None = None, node: str | None = None):
        self.settings, self.store, self.storage = settings, store, storage
        self.reconcile = reconcile
        self.node = node
        self.owner = node_name(node)
        self.running: dict[str, JobRun] = {}
        self.device: dict[str, Any] = {}
        self.slots = Device(settings)
        self._noted: dict[str, str] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._probe_thread: threading.Thread | None = None
        self._probe_process: Any = None

    @property
    def runs_jobs(self) -> bool:
        return self.reconcile is None

    # --- lifecycle --------------------------------------------------------
    def start(self) -> None:
        if self.runs_jobs:  # embedded: what this node was running died with its last life
            for job_id, status in self.store.recover(node=self.node).items():
                logger.warning("job %s was running when the service stopped: now %s",
                               job_id, status)
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        if self.runs_jobs:
            self._probe_thread = threading.Thread(target=self._probe, name="device-probe",
                                                  daemon=True)
            self._probe_thread.start()

    def stop(self) -> None:
        """Stop claiming; kill running children and queue their jobs again."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for run in list(self.running.values()):
            run.release("the service stopped")
        self.running.clear()
        probe = self._probe_process
        if probe is not None and probe.is_alive():
            probe.kill()  # its thread then ends at once, rather than in the interpreter's exit
        if self._probe_thread is not None:
            self._probe_thread.join(timeout=5)

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
        # Renew this node's own leases before looking for expired ones: after a tick that
        # came late (a stalled write, a starved thread) the expired lease may be one of
        # ours, and releasing it would kill a healthy job and spend one of its attempts.
        for job_id, run in list(self.running.items()):
            if run.poll():
                del self.running[job_id]
                self.slots.release(job_id)
        self.store.recover()
        if self.reconcile is not None:
            self.reconcile()
            return
        while not self._stop.is_set():
            job = claim_next(self.store, self.slots, self.owner, self.settings.lease_seconds,
                             self._noted)
            if job is None:
                break
            self.running[job.id] = JobRun(job.id, self.owner, self.settings, self.store,
                                          self.storage).start()

    def _probe(self) -> None:
        """Which device jobs get, asked of a child; quietly nothing if the service stops first."""
        parent, child = SPAWN.Pipe(duplex=False)
        process = SPAWN.Process(target=runner.probe_device, name="device-probe",
                                args=(self.settings.model_dump_json(), child), daemon=True)
        try:
            self._probe_process = process
            process.start()
            child.close()
            if parent.poll(120):
                self.device = parent.recv()
                self.slots.limit = budget(self.settings, self.device.get("memory_total"))
            process.join(timeout=5)
        except (EOFError, OSError, ValueError) as exc:  # the service is stopping
            logger.debug("device probe ended early: %r", exc)


__all__ = ["Scheduler", "node_name"]
