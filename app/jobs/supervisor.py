"""One job's child process, watched: heartbeat, cancel, and the decision of how it ended.

The embedded scheduler watches several of these at once; a Celery worker
(scale-out) watches one. Either way the job runs in a spawned child (see
:mod:`app.jobs.runner`) that can be killed, and :meth:`JobRun._reap` is the
one place that turns what the child left into the job's terminal status.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time

from ..config import Settings
from ..db.store import JobStore
from ..db.tables import JobStatus
from ..storage import Storage
from . import runner

logger = logging.getLogger(__name__)
SPAWN = mp.get_context("spawn")


class JobRun:
    """A claimed job running in its own process."""

    def __init__(self, job_id: str, owner: str, settings: Settings, store: JobStore,
                 storage: Storage):
        self.job_id, self.owner = job_id, owner
        self.settings, self.store, self.storage = settings, store, storage
        self.process = SPAWN.Process(
            target=runner.run_job, name=f"job-{job_id[:8]}", daemon=False,
            args=(job_id, owner, settings.model_dump_json(), os.getpid()))
        self.started = self.beat = time.monotonic()
        self.ended: str | None = None

    def start(self) -> JobRun:
        self.process.start()
        logger.info("job %s started in process %s", self.job_id, self.process.pid)
        return self

    def poll(self) -> bool:
        """Heartbeat, honour a cancel, reap an ended child. ``True`` once the job is over."""
        if self.ended is not None:
            return True
        if not self.process.is_alive():
            self.process.join()
            self._reap()
        elif self.store.cancel_requested(self.job_id):
            self.kill()
            self._reap()
        elif time.monotonic() - self.beat > self.settings.lease_seconds / 3:
            # The lease runs from when the heartbeat was asked for: a write that waited
            # (a busy disk, another writer) must not push the next renewal past its end.
            asked = time.monotonic()
            if self.store.heartbeat(self.job_id, self.owner, self.settings.lease_seconds):
                self.beat = asked
            else:  # another runner took the job over: this one must not go on
                logger.warning("job %s: lease lost; killing its process", self.job_id)
                self.kill()
                self.ended = "lease lost"
        return self.ended is not None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)

    def release(self, reason: str) -> None:
        """Stop the child and give the job back (queued again while attempts remain)."""
        self.kill()
        self.ended = self.store.release(self.job_id, self.owner, reason=reason) or "released"

    def wait(self) -> str:
        """Watch until the job is over (a worker's whole task)."""
        while not self.poll():
            time.sleep(self.settings.poll_seconds)
        return self.ended or ""

    def _reap(self) -> None:
        """How a job ends: the one place that decides it."""
        outcome = runner.read_outcome(self.storage.work_dir(self.job_id))
        if outcome is None and self.store.cancel_requested(self.job_id):
            done = self.store.finish(self.job_id, self.owner, JobStatus.CANCELLED)
            self.ended = JobStatus.CANCELLED
        elif outcome is not None and outcome["status"] == "succeeded":
            done = self.store.finish(self.job_id, self.owner, JobStatus.SUCCEEDED,
                                     result={**outcome["result"], "runner": self.owner},
                                     model=runner.model_row(outcome.get("model")))
            self.ended = JobStatus.SUCCEEDED
        elif outcome is not None:
            code, message = outcome["error"]
            done = self.store.finish(self.job_id, self.owner, JobStatus.FAILED,
                                     error=(code, message))
            self.ended = JobStatus.FAILED
        else:  # the child died without an outcome: killed, out of memory, crashed
            status = self.store.release(self.job_id, self.owner,
                                        reason=f"exit code {self.process.exitcode}")
            logger.warning("job %s process ended without an outcome (exit code %s): %s",
                           self.job_id, self.process.exitcode, status)
            self.ended = status or "released"
            return
        logger.info("job %s ended %s after %.1f s", self.job_id, self.ended,
                    time.monotonic() - self.started)
        if not done:
            logger.warning("job %s was no longer ours when it ended", self.job_id)


__all__ = ["SPAWN", "JobRun"]
