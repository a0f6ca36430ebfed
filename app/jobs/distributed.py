"""Scale-out: jobs go through a Celery broker to GPU workers. Imported only with a broker URL.

The SQL job table stays the source of truth. A message carries only the
job's id; a worker claims the row atomically (so a duplicate message runs
nothing), runs the job in a child process through the same
:class:`~app.jobs.supervisor.JobRun` as the embedded mode, heartbeats its
lease and honours the cancel flag. The API node never reads Celery's result
backend (there is none): it answers from the table. If a worker dies, its
lease expires, the job is queued again (``JobStore.recover``) and
:meth:`Dispatcher.reconcile` sends a new message, so another worker resumes
it from its checkpoint; after a broker restart the same reconciliation
re-sends every queued job whose message was lost.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from functools import cache

from celery import Celery
from kombu import Exchange, Queue

from ..config import Settings
from ..db.session import make_engine, session_factory
from ..db.store import JobStore
from ..storage import Storage, open_storage
from .admission import Device, claim_next

logger = logging.getLogger(__name__)
TASK = "deepclsmote.run_job"


def make_celery(settings: Settings) -> Celery:
    """The Celery app of the service and its workers (no result backend)."""
    app = Celery("deepclsmote", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.queue,
        task_acks_late=True,                  # a job's message is acknowledged when it ends...
        task_reject_on_worker_lost=True,      # ...and given back if its worker dies
        worker_prefetch_multiplier=1,         # each of a worker's job slots holds one message
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        task_serializer="json", accept_content=["json"],
    )
    app.task(name=TASK, ignore_result=True, bind=True)(_task)
    return app


@cache
def _worker_parts(settings_json: str) -> tuple[Settings, JobStore, Storage, Device]:
    settings = Settings.model_validate_json(settings_json)
    engine = make_engine(settings.sqlalchemy_url)
    return (settings, JobStore(engine, session_factory(engine)), open_storage(settings.data_dir),
            Device(settings, _probe_memory(settings)))


def _probe_memory(settings: Settings) -> int | None:
    """The worker's GPU memory, probed in a child so that CUDA stays out of the worker."""
    from . import runner
    from .supervisor import SPAWN

    parent, child = SPAWN.Pipe(duplex=False)
    process = SPAWN.Process(target=runner.probe_device, args=(settings.model_dump_json(), child),
                            daemon=True)
    process.start()
    child.close()
    found = parent.recv() if parent.poll(120) else {}
    process.join(timeout=5)
    return found.get("memory_total")


_noted: dict[str, str] = {}


def _task(task, job_id: str) -> None:  # noqa: ANN001 (Celery's bound task)
    """A worker's task: a ticket to run one job. It claims the job at the head of the fair
    order (the one the message names, unless another tenant's turn comes first), runs it in
    a child process and watches it to the end. While that job waits for memory, the ticket
    waits with it; when nothing is queued any more, every job has been taken and the ticket
    is spent."""
    from .supervisor import JobRun

    settings, store, storage, device = _worker_parts(os.environ["DEEPCLSMOTE_WORKER_SETTINGS"])
    # the lease column holds 64 characters; a long host name is cut, pid and random kept
    owner = f"{task.request.hostname[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    while (job := claim_next(store, device, owner, settings.lease_seconds, _noted)) is None:
        if not store.fair_queue(limit=1):
            logger.info("message of job %s: nothing queued to run", job_id)
            return
        time.sleep(max(1.0, settings.poll_seconds))
    try:
        ended = JobRun(job.id, owner, settings, store, storage).start().wait()
    finally:
        device.release(job.id)
    logger.info("job %s: %s", job.id, ended)


class Dispatcher:
    """The API node's side: enqueue submitted jobs; re-send the ones whose message is lost."""

    def __init__(self, settings: Settings, store: JobStore):
        self.settings, self.store = settings, store
        self.celery = make_celery(settings)

    def enqueue(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self.celery.send_task(TASK, args=[job_id], queue=self.settings.queue)
        self.store.mark_enqueued(job_ids)

    def messages_waiting(self) -> int:
        """Messages in the queue (declared as the workers declare it, so it exists)."""
        name = self.settings.queue
        with self.celery.connection_for_write() as conn:
            queue = Queue(name, Exchange(name), routing_key=name)(conn.default_channel)
            return int(queue.queue_declare()[1])

    def reconcile(self) -> None:
        """Queued rows older than ``requeue_after`` beyond the messages waiting: send again.

        A duplicate message is harmless (the claim is atomic); a lost one would
        leave a job queued for ever.
        """
        stale = self.store.queued_since(self.settings.requeue_after)
        if not stale:
            return
        try:
            waiting = self.messages_waiting()
        except Exception as exc:  # noqa: BLE001 - a broker being restarted: retry next tick
            logger.warning("broker unreachable (%s); will retry", exc)
            return
        if len(stale) > waiting:
            logger.warning("%d queued jobs but %d messages: enqueuing them again",
                           len(stale), waiting)
            self.enqueue(stale)


def worker_name(gpu: int | None, name: str | None = None) -> str:
    """The worker's Celery node name, unique per host and GPU: ``gpu0@<host>``.

    The GPU is ``--gpu``, else ``CUDA_VISIBLE_DEVICES``; a worker with neither is
    ``cpu<pid>@<host>``. A name given (``--name``) is read as Celery's own ``-n``
    reads it: ``%h``, ``%n`` and ``%d`` are expanded, and a name without ``@`` is a
    host. (``Worker(hostname=...)`` expands nothing itself.)
    """
    from celery.utils.nodenames import default_nodename, host_format

    if name is None:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
        if gpu is not None:
            name = f"gpu{gpu}@%h"
        elif visible:
            name = f"gpu{visible.replace(',', '-')}@%h"
        else:
            name = f"cpu{os.getpid()}@%h"
    return host_format(default_nodename(name))


def run_worker(settings: Settings, *, gpu: int | None, name: str | None = None) -> None:
    """``deepclsmote worker``: one Celery worker pinned to one GPU, ``jobs_per_device`` jobs
    at a time."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    os.environ["DEEPCLSMOTE_WORKER_SETTINGS"] = settings.model_dump_json()
    app = make_celery(settings)
    # a job's task only waits on its child process: threads are enough to run several
    jobs = settings.jobs_per_device
    worker = app.Worker(pool="threads" if jobs > 1 else "solo", concurrency=jobs,
                        queues=[settings.queue], hostname=worker_name(gpu, name),
                        loglevel="INFO", without_gossip=True, without_mingle=True)
    worker.start()


__all__ = ["Dispatcher", "make_celery", "run_worker", "worker_name"]
