"""Schemathesis hooks of the stateful run (tests/app/test_fuzz.py), loaded through
``SCHEMATHESIS_HOOKS``: they let a chain of linked calls go from an upload through
training to generation.

- An upload's generated body is replaced by a small valid dataset (random bytes
  are refused, rightly; the full run fuzzes uploads), so the chain can start there.
- After a job is accepted, the hook waits for it to end (within a budget), so the
  next call of the chain finds the job finished (a train job's model there), as a
  client that polls its job before following the job's links would. Waiting for
  every kind, not only train jobs, keeps the service's queue short: with one job
  process, a train job queued behind eight generate jobs (about 10 s each on
  2 cores) did not start within the budget, and no chain reached generation.
"""

from __future__ import annotations

import io
import os
import time

import httpx
import numpy as np
import schemathesis

BASE_URL = os.environ.get("FUZZ_BASE_URL", "")
API_KEY = os.environ.get("FUZZ_API_KEY", "")
#: Seconds the hook may spend waiting for jobs in one run, in all, and for one job.
WAIT_BUDGET = float(os.environ.get("FUZZ_WAIT_BUDGET", "300"))
WAIT_PER_JOB = 60.0
_waited = 0.0


def _dataset() -> bytes:
    rng = np.random.default_rng(0)
    counts = [12, 8, 6]
    images = np.concatenate([np.clip(rng.normal(60 + 70 * c, 25, (n, 8, 8)), 0, 255)
                             for c, n in enumerate(counts)]).astype(np.uint8)
    labels = np.repeat(np.arange(len(counts)), counts)
    buf = io.BytesIO()
    np.savez(buf, images=images, labels=labels)
    return buf.getvalue()


DATASET = _dataset()


def _is(ctx, method: str, path: str) -> bool:
    op = ctx.operation
    return op is not None and op.method.upper() == method and op.path == path


@schemathesis.hook
def map_body(ctx, body):  # noqa: ANN001, ANN201 - Schemathesis' hook signature
    if _is(ctx, "POST", "/v1/datasets"):
        return {"file": DATASET, "name": "fuzzed"}
    return body


@schemathesis.hook
def after_call(ctx, case, response):  # noqa: ANN001, ANN201
    global _waited
    if not (_is(ctx, "POST", "/v1/jobs") and response.status_code == 202):
        return
    job = response.json()
    if _waited >= WAIT_BUDGET:
        return
    start = time.monotonic()
    limit = min(WAIT_PER_JOB, WAIT_BUDGET - _waited)
    with httpx.Client(base_url=BASE_URL, headers={"X-API-Key": API_KEY}, timeout=30) as c:
        while time.monotonic() - start < limit:
            if c.get(f"/v1/jobs/{job['id']}").json()["status"] in ("succeeded", "failed",
                                                                   "cancelled"):
                break
            time.sleep(0.2)
    _waited += time.monotonic() - start
