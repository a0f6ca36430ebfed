"""The child process of one job.

The scheduler starts :func:`run_job` with the ``spawn`` start method, so the
child is a fresh interpreter: CUDA initialises here, never in the API process,
and killing the child frees its GPU memory. The child reports progress into
the job row (only while it holds the job's lease) and ends by writing its
outcome to ``work/outcome.json``; the scheduler alone turns that into the
job's terminal status. A child whose parent dies exits at once.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..db.catalog import Catalog
from ..db.session import make_engine, session_factory
from ..db.store import JobStore
from ..db.tables import Dataset, Job, Model
from ..storage import Storage, atomic_write, open_storage

logger = logging.getLogger(__name__)

OUTCOME = "outcome.json"
#: Exit codes of a child that ends without an outcome.
LOST_LEASE, PARENT_GONE = 75, 76


@dataclass
class JobContext:
    """What a job kind may use: its row, the settings, storage and progress reporting."""

    job: Job
    settings: Settings
    store: JobStore
    catalog: Catalog
    storage: Storage
    owner: str
    work_dir: Path
    _state: dict[str, Any] = field(default_factory=dict, repr=False)

    def progress(self, **fields: Any) -> None:
        """Record progress; exit if the job is no longer ours (cancelled or taken over).

        Fields not given keep their last value within a stage (the latest losses stay
        visible while the model is saved); a new stage starts afresh.
        """
        if fields.get("stage") != self._state.get("stage"):
            self._state = {}
        self._state.update({k: v for k, v in fields.items() if v is not None})
        if not self.store.set_progress(self.job.id, self.owner, dict(self._state)):
            logger.warning("job %s: lease lost; stopping", self.job.id)
            os._exit(LOST_LEASE)

    def catalog_dataset(self) -> Dataset:
        row = self.catalog.dataset(self.job.dataset_id or "", tenant=self.job.tenant)
        if row is None:
            from .kinds import JobFailed

            raise JobFailed("dataset_missing", "the job's dataset was deleted")
        return row


def _die_with_parent(parent: int) -> None:
    """Exit when the service process is gone (killed, crashed), so no job runs unowned."""
    try:  # Linux: the kernel sends SIGKILL the moment the parent dies
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(PARENT_GONE)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def write_outcome(work_dir: Path, outcome: dict[str, Any]) -> None:
    blob = json.dumps(outcome).encode()
    atomic_write(work_dir / OUTCOME, lambda f: f.write(blob))


def read_outcome(work_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((work_dir / OUTCOME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def model_row(data: dict[str, Any] | None) -> Model | None:
    return None if data is None else Model(**data)


_STORAGE_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def failure(exc: BaseException, job_failed: type) -> tuple[str, str]:
    """What a job's exception tells its user: ``(code, message)``."""
    if isinstance(exc, job_failed):
        return exc.code, exc.message  # type: ignore[attr-defined]
    if isinstance(exc, (ValueError, TypeError)):  # the library refusing data or parameters
        return "invalid_input", str(exc)
    if isinstance(exc, OSError) and exc.errno in _STORAGE_FULL:
        return ("storage_full", f"the storage ran out of space while the job wrote its "
                                f"results ({exc.strerror}); free space in the data directory "
                                f"and submit the job again")
    if isinstance(exc, MemoryError):
        return "out_of_memory", "the job ran out of memory; try a smaller batch_size or dim_h"
    if type(exc).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError
        return "out_of_memory", "the GPU ran out of memory; try a smaller batch_size"
    return "internal_error", f"{type(exc).__name__}: {exc}"[:500]


def user_caused(exc: BaseException, job_failed: type) -> bool:
    """A failure of the request, not of the service: a job that cannot succeed as asked,
    or the library refusing the data or the parameters (its ValueError and TypeError)."""
    return isinstance(exc, (job_failed, ValueError, TypeError))


def run_job(job_id: str, owner: str, settings_json: str, parent: int) -> None:
    """Entry point of the child process."""
    _die_with_parent(parent)
    settings = Settings.model_validate_json(settings_json)
    if settings.job_nice:
        os.nice(settings.job_nice)
    import torch

    # the cores but one (the API's), shared by the jobs a device runs at once
    torch.set_num_threads(settings.torch_threads
                          or max(1, ((os.cpu_count() or 2) - 1) // settings.jobs_per_device))
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s job {job_id[:8]} "
                                                   "%(levelname)s %(name)s: %(message)s")
    engine = make_engine(settings.sqlalchemy_url)
    sessions = session_factory(engine)
    store, storage = JobStore(engine, sessions), open_storage(settings.data_dir)
    job = store.get(job_id)
    if job is None or job.lease_owner != owner:
        os._exit(LOST_LEASE)
    work = storage.work_dir(job_id)
    (work / OUTCOME).unlink(missing_ok=True)
    ctx = JobContext(job, settings, store, Catalog(sessions), storage, owner, work)
    from .kinds import KINDS, JobFailed

    try:
        result, model = KINDS[job.kind](ctx)
        outcome: dict[str, Any] = {"status": "succeeded", "result": result, "model": None}
        if model is not None:
            outcome["model"] = {c.name: getattr(model, c.name) for c in Model.__table__.columns}
    except Exception as exc:  # noqa: BLE001 - the user gets a message, the log the trace
        code, message = failure(exc, JobFailed)
        outcome = {"status": "failed", "error": [code, message]}
        if user_caused(exc, JobFailed):  # the message says it all: no trace of our code
            logger.info("job %s failed (%s): %s", job_id, code, message)
        else:
            logger.error("job %s failed (%s): %s", job_id, code, message, exc_info=True)
    write_outcome(work, outcome)
    engine.dispose()


def probe_device(settings_json: str, conn) -> None:  # noqa: ANN001 (multiprocessing Connection)
    """Child process: which device would jobs use? (Keeps CUDA out of the API process.)"""
    try:
        import torch

        from deepclsmote._validation import resolve_device

        settings = Settings.model_validate_json(settings_json)
        device = resolve_device(settings.device)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        total = (torch.cuda.get_device_properties(device).total_memory
                 if device.type == "cuda" else None)
        conn.send({"device": f"{device} ({name})", "cuda_available": torch.cuda.is_available(),
                   "memory_total": total})
    except Exception as exc:  # noqa: BLE001
        conn.send({"device": f"unusable: {exc}", "cuda_available": False})
    finally:
        conn.close()


__all__ = ["JobContext", "probe_device", "read_outcome", "run_job", "write_outcome"]
