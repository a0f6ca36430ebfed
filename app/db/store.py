"""The job store: the only code that changes job rows.

Every change is one guarded SQL statement, so two processes can never both
believe they own a job: claiming is a single ``UPDATE ... WHERE status =
'queued' RETURNING`` (with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and a
runner's progress, heartbeats and outcome only land while it still holds the
job's lease (``lease_owner``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import Engine, func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from .tables import Job, JobStatus, Model

S = JobStatus


def new_id() -> str:
    return uuid.uuid4().hex


def _matching(q: Any, *, tenant: str, status: str | None, kind: str | None,
              dataset_id: str | None) -> Any:
    """A query narrowed to the tenant's jobs and the filters given."""
    q = q.where(Job.tenant == tenant)
    if status:
        q = q.where(Job.status == status)
    if kind:
        q = q.where(Job.kind == kind)
    if dataset_id:
        q = q.where(Job.dataset_id == dataset_id)
    return q


class JobStore:
    """Submit, claim, heartbeat, report progress, finish, cancel and recover jobs."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session]):
        self.engine = engine
        self.sessions = sessions
        self._postgres = engine.dialect.name == "postgresql"

    # --- reading ----------------------------------------------------------
    def get(self, job_id: str, *, tenant: str | None = None) -> Job | None:
        with self.sessions() as s:
            job = s.get(Job, job_id)
        if job is None or (tenant is not None and job.tenant != tenant):
            return None
        return job

    def find(self, *, tenant: str, status: str | None = None, kind: str | None = None,
             dataset_id: str | None = None, limit: int = 100, offset: int = 0) -> list[Job]:
        q = _matching(select(Job), tenant=tenant, status=status, kind=kind,
                      dataset_id=dataset_id)
        q = q.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset)
        with self.sessions() as s:
            return list(s.scalars(q))

    def count(self, *, tenant: str, status: str | None = None, kind: str | None = None,
              dataset_id: str | None = None) -> int:
        """How many jobs :meth:`find` would list without a limit."""
        q = _matching(select(func.count()).select_from(Job), tenant=tenant, status=status,
                      kind=kind, dataset_id=dataset_id)
        with self.sessions() as s:
            return int(s.scalar(q) or 0)

    def count_active(self, *, tenant: str) -> int:
        q = select(func.count()).select_from(Job).where(
            Job.tenant == tenant, Job.status.in_([S.QUEUED, S.RUNNING]))
        with self.sessions() as s:
            return int(s.scalar(q) or 0)

    def uses(self, *, dataset_id: str | None = None, model_id: str | None = None) -> bool:
        """Does a queued or running job use this dataset or model?"""
        q = select(func.count()).select_from(Job).where(Job.status.in_([S.QUEUED, S.RUNNING]))
        q = q.where(Job.dataset_id == dataset_id) if dataset_id else q.where(
            Job.model_id == model_id)
        with self.sessions() as s:
            return bool(s.scalar(q))

    def ping(self) -> None:
        """Raise ``SQLAlchemyError`` if the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def counts_by_status(self) -> dict[str, int]:
        q = select(Job.status, Job.kind, func.count()).group_by(Job.status, Job.kind)
        with self.sessions() as s:
            return {f"{st}/{kind}": int(n) for st, kind, n in s.execute(q)}

    def finished_durations(self) -> list[tuple[str, str, float]]:
        q = select(Job.kind, Job.status, Job.started_at, Job.finished_at).where(
            Job.finished_at.is_not(None), Job.started_at.is_not(None))
        with self.sessions() as s:
            return [(k, st, f - b) for k, st, b, f in s.execute(q)
                    if f is not None and b is not None]

    # --- writing ----------------------------------------------------------
    def submit(self, *, tenant: str, kind: str, params: dict[str, Any], max_attempts: int,
               dataset_id: str | None = None, model_id: str | None = None,
               result: dict[str, Any] | None = None, memory_bytes: int | None = None) -> Job:
        """A new queued job; with ``result`` it is born succeeded (a reused model)."""
        now = time.time()
        job = Job(id=new_id(), tenant=tenant, kind=kind, params=params, dataset_id=dataset_id,
                  model_id=model_id, max_attempts=max_attempts, created_at=now, updated_at=now,
                  progress={}, attempts=0, cancel_requested=False, status=S.QUEUED,
                  memory_bytes=memory_bytes)
        if result is not None:
            job.status, job.result = S.SUCCEEDED, result
            job.started_at = job.finished_at = now
            job.progress = {"stage": "done", "fraction": 1.0}
        with self.sessions() as s, s.begin():
            s.add(job)
        return job

    def claim(self, owner: str, lease_seconds: float) -> Job | None:
        """Atomically take the first queued job in fair order (:meth:`fair_queue`), or
        ``None``."""
        for job in self.fair_queue(limit=8):
            taken = self._take(job.id, owner, lease_seconds)
            if taken is not None:
                return taken
        return None

    def fair_queue(self, *, limit: int = 16) -> list[Job]:
        """Queued jobs in the order they should start: round robin over tenants.

        First the jobs of tenants with the fewest jobs running, then those of the
        tenant that started a job longest ago (never first), then submission
        order; within a tenant, jobs keep their submission order. One tenant's
        burst of jobs thus takes turns with another tenant's single job.
        """
        running = (select(Job.tenant, func.count().label("n")).where(Job.status == S.RUNNING)
                   .group_by(Job.tenant).subquery())
        started = (select(Job.tenant, func.max(Job.started_at).label("last"))
                   .where(Job.started_at.is_not(None)).group_by(Job.tenant).subquery())
        q = (select(Job).where(Job.status == S.QUEUED)
             .outerjoin(running, running.c.tenant == Job.tenant)
             .outerjoin(started, started.c.tenant == Job.tenant)
             .order_by(func.coalesce(running.c.n, 0), func.coalesce(started.c.last, 0.0),
                       Job.created_at, Job.id)
             .limit(limit))
        with self.sessions() as s:
            return list(s.scalars(q))

    def note_queued(self, job_id: str, note: str) -> None:
        """Say in a queued job's progress why it has not started (it stays queued)."""
        with self.sessions() as s, s.begin():
            s.execute(update(Job).where(Job.id == job_id, Job.status == S.QUEUED)
                      .values(progress={"stage": "queued", "note": note})
                      .execution_options(synchronize_session=False))

    def claim_job(self, job_id: str, owner: str, lease_seconds: float) -> Job | None:
        """Atomically take this queued job (a worker's message names it), or ``None``."""
        return self._take(job_id, owner, lease_seconds)

    def _take(self, job_id: Any, owner: str, lease_seconds: float) -> Job | None:
        """The one claiming statement: queued -> running, leased to ``owner``."""
        now = time.time()
        stmt = (update(Job)
                .where(Job.id == job_id, Job.status == S.QUEUED)
                .values(status=S.RUNNING, lease_owner=owner, lease_expires_at=now + lease_seconds,
                        attempts=Job.attempts + 1, updated_at=now,
                        started_at=func.coalesce(Job.started_at, now))
                .returning(Job)
                .execution_options(synchronize_session=False))
        with self.sessions() as s, s.begin():
            return s.scalars(stmt).first()

    def mark_enqueued(self, job_ids: list[str]) -> None:
        """Record that a message naming each job was sent to the broker."""
        if job_ids:
            with self.sessions() as s, s.begin():
                s.execute(update(Job).where(Job.id.in_(job_ids), Job.status == S.QUEUED)
                          .values(enqueued_at=time.time())
                          .execution_options(synchronize_session=False))

    def queued_since(self, older_than: float) -> list[str]:
        """Queued jobs last enqueued (or submitted) more than ``older_than`` seconds ago."""
        limit = time.time() - older_than
        q = (select(Job.id).where(Job.status == S.QUEUED,
                                  func.coalesce(Job.enqueued_at, Job.created_at) < limit)
             .order_by(Job.created_at, Job.id))
        with self.sessions() as s:
            return list(s.scalars(q))

    def _owned(self, job_id: str, owner: str):
        return update(Job).where(Job.id == job_id, Job.lease_owner == owner,
                                 Job.status == S.RUNNING).execution_options(
            synchronize_session=False)

    def heartbeat(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        """Extend the lease; ``False`` when the job is no longer ``owner``'s."""
        now = time.time()
        with self.sessions() as s, s.begin():
            res = s.execute(self._owned(job_id, owner).values(
                lease_expires_at=now + lease_seconds, updated_at=now))
        return res.rowcount == 1  # type: ignore[attr-defined]

    def set_progress(self, job_id: str, owner: str, progress: dict[str, Any]) -> bool:
        with self.sessions() as s, s.begin():
            res = s.execute(self._owned(job_id, owner).values(progress=progress,
                                                              updated_at=time.time()))
        return res.rowcount == 1  # type: ignore[attr-defined]

    def cancel_requested(self, job_id: str) -> bool:
        with self.sessions() as s:
            return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))

    def finish(self, job_id: str, owner: str, status: str, *,
               result: dict[str, Any] | None = None, error: tuple[str, str] | None = None,
               model: Model | None = None) -> bool:
        """The terminal state of an owned job, with its model row in the same transaction."""
        if status not in S.TERMINAL:
            raise ValueError(f"finish needs a terminal status; got {status!r}.")
        now = time.time()
        values: dict[str, Any] = {"status": status, "finished_at": now, "updated_at": now,
                                  "lease_owner": None, "lease_expires_at": None}
        if result is not None:
            values["result"] = result
        if error is not None:
            values["error_code"], values["error_message"] = error
        if model is not None:
            values["model_id"] = model.id  # a train job names the model it made
        with self.sessions() as s, s.begin():
            res = s.execute(self._owned(job_id, owner).values(**values))
            if res.rowcount != 1:  # type: ignore[attr-defined]
                return False
            if model is not None:
                s.merge(model)
        return True

    def release(self, job_id: str, owner: str, *, reason: str) -> str | None:
        """A runner lost its process: queue the job again, or fail it ``worker_lost``."""
        with self.sessions() as s, s.begin():
            job = s.get(Job, job_id, with_for_update=self._postgres)
            if job is None or job.status != S.RUNNING or job.lease_owner != owner:
                return None
            return self._release_row(job, reason)

    def _release_row(self, job: Job, reason: str) -> str:
        now = time.time()
        job.lease_owner = job.lease_expires_at = None
        job.updated_at = now
        if job.cancel_requested:
            job.status, job.finished_at = S.CANCELLED, now
        elif job.attempts < job.max_attempts:
            job.status = S.QUEUED
            job.progress = {**(job.progress or {}), "stage": "queued", "note": reason}
        else:
            job.status, job.finished_at = S.FAILED, now
            job.error_code = "worker_lost"
            job.error_message = (f"the job's process was lost ({reason}) on each of its "
                                 f"{job.attempts} attempts; submit it again")
        return job.status

    def recover(self, *, node: str | None = None) -> dict[str, str]:
        """Running jobs nobody holds any more: those whose lease expired (a runner that
        died), and with ``node``, those leased by an earlier life of that node (an embedded
        service starting: its runners died with it). Another node's live lease stays."""
        now = time.time()
        gone = Job.lease_expires_at < now
        if node:
            gone = or_(gone, Job.lease_owner.startswith(f"{node}:", autoescape=True))
        q = select(Job).where(Job.status == S.RUNNING, gone)
        out = {}
        with self.sessions() as s, s.begin():
            for job in s.scalars(q.with_for_update(skip_locked=True) if self._postgres else q):
                expired = job.lease_expires_at is not None and job.lease_expires_at < now
                out[job.id] = self._release_row(
                    job, "its runner stopped renewing the lease" if expired
                    else "the service restarted")
        return out

    def request_cancel(self, job_id: str, *, tenant: str) -> Job | None:
        """Idempotent: a queued job is cancelled now, a running one is flagged."""
        now = time.time()
        with self.sessions() as s, s.begin():
            job = s.get(Job, job_id, with_for_update=self._postgres)
            if job is None or job.tenant != tenant:
                return None
            if job.status == S.QUEUED:
                job.status, job.finished_at = S.CANCELLED, now
                job.cancel_requested, job.updated_at = True, now
            elif job.status == S.RUNNING and not job.cancel_requested:
                job.cancel_requested, job.updated_at = True, now
            return job


__all__ = ["JobStore", "new_id"]
