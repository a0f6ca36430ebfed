"""The job store as a state machine (Hypothesis): submit, claim, heartbeat, cancel, finish,
crash and restart in any order keep its promises."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from app.db.migrate import upgrade
from app.db.session import make_engine, session_factory
from app.db.store import JobStore
from app.db.tables import JobStatus

NODES = st.sampled_from(["a", "b"])
OWNERS = st.sampled_from(["a:1", "b:1"])  # <node>:<runner>, as the scheduler names leases


class JobStates(RuleBasedStateMachine):
    jobs = Bundle("jobs")

    def __init__(self):
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.engine = make_engine(f"sqlite:///{Path(self.dir.name) / 'db.sqlite'}")
        upgrade(self.engine)
        self.store = JobStore(self.engine, session_factory(self.engine))
        self.terminal: dict[str, str] = {}  # job -> the terminal status it first reached

    def teardown(self):
        self.engine.dispose()
        self.dir.cleanup()

    def _status(self, job_id: str) -> str:
        job = self.store.get(job_id)
        assert job is not None
        return job.status

    @rule(target=jobs)
    def submit(self):
        return self.store.submit(tenant="t", kind="train", params={}, max_attempts=2).id

    @rule(owner=OWNERS)
    def claim(self, owner):
        queued_before = {j.id for j in self.store.find(tenant="t", status="queued", limit=1000)}
        job = self.store.claim(owner, lease_seconds=60)
        if job is not None:
            assert job.id in queued_before  # never a job someone else runs
            assert job.lease_owner == owner and job.status == JobStatus.RUNNING

    @rule(job_id=jobs, owner=OWNERS)
    def heartbeat(self, job_id, owner):
        job = self.store.get(job_id)
        owns = job.status == JobStatus.RUNNING and job.lease_owner == owner
        assert self.store.heartbeat(job_id, owner, 60) == owns

    @rule(job_id=jobs)
    def cancel(self, job_id):
        self.store.request_cancel(job_id, tenant="t")

    @rule(job_id=jobs, owner=OWNERS, ok=st.booleans())
    def finish(self, job_id, owner, ok):
        job = self.store.get(job_id)
        owns = job.status == JobStatus.RUNNING and job.lease_owner == owner
        if ok:
            done = self.store.finish(job_id, owner, JobStatus.SUCCEEDED,
                                     result={"artifacts": [{"name": "a"}]})
        else:
            done = self.store.finish(job_id, owner, JobStatus.FAILED, error=("x", "failed"))
        assert done == owns

    @rule(owner=OWNERS)
    def crash(self, owner):
        for job in self.store.find(tenant="t", status="running", limit=1000):
            if job.lease_owner == owner:
                self.store.release(job.id, owner, reason="crash")

    @rule(node=NODES)
    def restart(self, node):
        self.store.recover(node=node)

    @invariant()
    def promises_hold(self):
        for job in self.store.find(tenant="t", limit=1000):
            if job.id in self.terminal:  # a terminal state never changes
                assert job.status == self.terminal[job.id], (job.id, job.status)
            elif job.status in JobStatus.TERMINAL:
                self.terminal[job.id] = job.status
            assert (job.status == JobStatus.RUNNING) == (job.lease_owner is not None)
            assert job.attempts <= job.max_attempts
            if job.status == JobStatus.SUCCEEDED:
                assert job.result and job.result["artifacts"]
            if job.status == JobStatus.QUEUED:
                assert not job.cancel_requested


def test_a_starting_node_takes_back_its_own_and_expired_leases_only(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    store = JobStore(engine, session_factory(engine))
    ids = [store.submit(tenant="t", kind="train", params={}, max_attempts=3).id
           for _ in range(3)]
    store.claim("a:1:x", lease_seconds=60)       # node a's runner, alive
    store.claim("b:7:y", lease_seconds=60)       # node b's earlier life
    store.claim("ab:1:z", lease_seconds=-1)      # another node's runner, lease expired
    assert store.recover(node="b") == {ids[1]: "queued", ids[2]: "queued"}
    job = store.get(ids[0])
    assert job is not None and (job.status, job.lease_owner, job.attempts) == (
        "running", "a:1:x", 1)
    assert store.recover() == {}
    engine.dispose()


JobStates.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
test_job_states = JobStates.TestCase
