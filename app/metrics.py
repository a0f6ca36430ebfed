"""Prometheus metrics: jobs by status, job durations, queue depth, upload bytes.

Job figures are read from the job table at scrape time, so every API node of
a scaled-out service reports the same truth; upload bytes count what this
process received.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from .db.store import JobStore
from .db.tables import JobStatus

BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)


class _JobCollector(Collector):
    def __init__(self, store: JobStore):
        self.store = store

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("deepclsmote_jobs", "Jobs by status and kind",
                                 labels=["status", "kind"])
        depth = 0
        for key, n in sorted(self.store.counts_by_status().items()):
            status, kind = key.split("/", 1)
            jobs.add_metric([status, kind], n)
            depth += n if status == JobStatus.QUEUED else 0
        yield jobs
        yield GaugeMetricFamily("deepclsmote_queue_depth", "Jobs waiting to run", value=depth)
        hist = HistogramMetricFamily("deepclsmote_job_duration_seconds",
                                     "Run time of finished jobs", labels=["kind", "status"])
        groups: dict[tuple[str, str], list[float]] = {}
        for kind, status, seconds in self.store.finished_durations():
            groups.setdefault((kind, status), []).append(seconds)
        for (kind, status), values in sorted(groups.items()):
            buckets = [(str(b), sum(v <= b for v in values)) for b in BUCKETS]
            buckets.append(("+Inf", len(values)))
            hist.add_metric([kind, status], buckets, sum_value=sum(values))
        yield hist


class Metrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self, store: JobStore):
        self.registry = CollectorRegistry()
        self.upload_bytes = Counter("deepclsmote_upload_bytes", "Bytes of datasets uploaded",
                                    registry=self.registry)
        self.registry.register(_JobCollector(store))


__all__ = ["Metrics"]
