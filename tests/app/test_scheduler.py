"""The embedded scheduler keeps its own jobs' leases when its ticks come late.

Seen on a loaded machine: a job lost its lease to its own service ("its runner
stopped renewing the lease"), was killed and started again, one attempt spent,
because a tick that came late looked for expired leases before renewing its own.
These run the real scheduler and store on SQLite; the job's child is a spawned
process that sleeps, standing in for the training it would run.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import update

from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import make_engine, session_factory
from app.db.store import JobStore
from app.db.tables import Job
from app.jobs.scheduler import Scheduler
from app.jobs.supervisor import SPAWN, JobRun
from app.storage import Storage


@pytest.fixture
def parts(tmp_path):
    settings = Settings(data_dir=tmp_path, device="cpu", lease_seconds=30)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    store = JobStore(engine, session_factory(engine))
    storage = Storage(tmp_path)
    storage.prepare()
    runs = []
    yield settings, store, storage, runs
    for run in runs:
        run.kill()
    engine.dispose()


def _running_job(settings, store, storage, owner, runs) -> JobRun:
    job = store.submit(tenant="t", kind="train", params={}, max_attempts=3)
    assert store.claim(owner, lease_seconds=settings.lease_seconds).id == job.id
    run = JobRun(job.id, owner, settings, store, storage)
    run.process = SPAWN.Process(target=time.sleep, args=(60,), daemon=True)
    run.start()
    runs.append(run)
    return run


def test_a_late_tick_renews_its_own_lease_instead_of_releasing_it(parts):
    settings, store, storage, runs = parts
    scheduler = Scheduler(settings, store, storage)
    run = _running_job(settings, store, storage, scheduler.owner, runs)
    scheduler.running[run.job_id] = run
    # The tick is late: the last renewal was 40 s ago and the lease ran out 10 s ago.
    run.beat = time.monotonic() - 40
    with store.sessions() as s, s.begin():
        s.execute(update(Job).where(Job.id == run.job_id)
                  .values(lease_expires_at=time.time() - 10))
    scheduler.tick()
    job = store.get(run.job_id)
    assert job is not None
    assert (job.status, job.lease_owner, job.attempts) == ("running", scheduler.owner, 1)
    assert job.lease_expires_at > time.time() + 25
    assert run.process.is_alive() and run.ended is None


def test_a_renewal_that_waited_counts_from_when_it_was_asked(parts):
    """A heartbeat held up by another writer (a real SQLite write lock, 3 s) renews the
    lease from when it asked; the next renewal is due by that time, not later."""
    settings, store, storage, runs = parts
    run = _running_job(settings, store, storage, "node:1:x", runs)
    run.beat = time.monotonic() - settings.lease_seconds  # a renewal is due
    locked = threading.Event()

    def hold_the_write_lock():
        con = sqlite3.connect(settings.sqlalchemy_url.removeprefix("sqlite:///"))
        con.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(3)
        con.commit()
        con.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    locked.wait(5)
    asked = time.monotonic()
    assert run.poll() is False
    holder.join()
    assert time.monotonic() - asked >= 2.5      # the renewal did wait for the lock
    assert asked <= run.beat < asked + 0.5      # and counts from when it asked
    job = store.get(run.job_id)
    assert job is not None and job.lease_owner == "node:1:x"
