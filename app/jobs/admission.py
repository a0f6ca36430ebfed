"""Several jobs on one device: each job's estimated peak memory, and admission by it.

A job's estimate is made when it is submitted, from its parameters and its
dataset's shape (:func:`deepclsmote.resources.training_memory`), and stored
on its row. A scheduler (the embedded one, or a worker's) starts a job only
when its estimate, plus a fixed overhead per process, fits what the device's
running jobs leave of its budget; otherwise the job stays queued and its
progress says why. A job that could never fit is refused at submit time when
the budget is configured, and failed with the reason when a worker finds its
own device too small.
"""

from __future__ import annotations

import threading
from typing import Any

from ..config import MiB, Settings
from ..errors import InvalidInput


def train_bytes(resolved: dict[str, Any], image_shape: list[int], n_images: int) -> int:
    """A train job: the sampler's training at its parameters, on the whole dataset."""
    from deepclsmote.resources import training_memory

    return training_memory(image_shape, n_images, dim_h=resolved["dim_h"], n_z=resolved["n_z"],
                           batch_size=resolved["batch_size"],
                           balanced_batches=resolved.get("balanced_batches", True)).total


def evaluate_bytes(cfg: Any, image_shape: list[int], pool: int) -> int:
    """An evaluate job: its profile's sampler trained on a fold's training part."""
    from deepclsmote.evaluation.config import PROFILES
    from deepclsmote.resources import training_memory

    sampler = PROFILES[cfg.profile]["sampler"]
    return training_memory(image_shape, pool, dim_h=sampler["dim_h"], n_z=sampler.get("n_z"),
                           batch_size=sampler["batch_size"]).total


def generate_bytes(model_params: dict[str, Any], image_shape: list[int], n_images: int) -> int:
    """A generate job: the model's weights and training images, and a decoding batch."""
    from deepclsmote.resources import training_memory

    est = training_memory(image_shape, n_images, dim_h=model_params.get("dim_h", 64),
                          n_z=model_params.get("n_z"), batch_size=1024, balanced_batches=False)
    return est.parameters // 2 + est.data + est.activations // 2


def budget(settings: Settings, probed_total: int | None = None) -> int | None:
    """Bytes the jobs of one device may use together: the configured budget, else nine tenths
    of the GPU's probed memory; ``None`` (no limit) on a CPU without a configured budget."""
    if settings.device_memory_mib:
        return settings.device_memory_mib * MiB
    return int(0.9 * probed_total) if probed_total else None


def need(settings: Settings, memory_bytes: int | None) -> int:
    """What one job takes: its estimate and the per-process overhead."""
    return (memory_bytes or 0) + settings.job_memory_overhead_mib * MiB


def check_fits(settings: Settings, memory_bytes: int) -> None:
    """Refuse at submit time a job that could never start within the configured budget."""
    limit = budget(settings)
    if limit is not None and need(settings, memory_bytes) > limit:
        raise InvalidInput(
            f"this job needs about {need(settings, memory_bytes) / MiB:,.0f} MiB of device "
            f"memory (its estimate {memory_bytes / MiB:,.0f} MiB and "
            f"{settings.job_memory_overhead_mib} MiB for its process); this service's device "
            f"allows {limit / MiB:,.0f} MiB (DEEPCLSMOTE_DEVICE_MEMORY_MIB): lower batch_size, "
            f"dim_h or n_z, or the images' size", code="too_large_for_device")


class Device:
    """The jobs running on one device and what they hold; thread-safe.

    ``admit`` answers whether a job fits beside them, and why not.
    """

    def __init__(self, settings: Settings, probed_total: int | None = None):
        self.settings = settings
        self.limit = budget(settings, probed_total)
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._held)

    def admit(self, job_id: str, memory_bytes: int | None) -> str | None:
        """Hold the job's share and return ``None``; or return why it must wait."""
        with self._lock:
            if len(self._held) >= self.settings.jobs_per_device:
                return (f"waiting for one of the {self.settings.jobs_per_device} job slots of "
                        f"the device")
            want, held = need(self.settings, memory_bytes), sum(self._held.values())
            if self.limit is not None and self._held and held + want > self.limit:
                return (f"waiting for device memory: needs about {want / MiB:,.0f} MiB, "
                        f"{(self.limit - held) / MiB:,.0f} MiB of {self.limit / MiB:,.0f} MiB "
                        f"free")
            self._held[job_id] = want
            return None

    def release(self, job_id: str) -> None:
        with self._lock:
            self._held.pop(job_id, None)


def claim_next(store: Any, device: Device, owner: str, lease_seconds: float,
               noted: dict[str, str]) -> Any:
    """Start the next job on ``device``: the first in fair order (``JobStore.fair_queue``),
    if it fits; a job that must wait for memory stays queued, says why in its progress
    (once: ``noted`` remembers what was said), and holds its place. Returns the claimed job,
    with its share of the device held, or ``None``."""
    for job in store.fair_queue(limit=8):
        why = device.admit(job.id, job.memory_bytes)
        if why is not None:
            if why.startswith("waiting for device memory") and noted.get(job.id) != why:
                store.note_queued(job.id, why)
                noted[job.id] = why
            return None
        taken = store.claim_job(job.id, owner, lease_seconds)
        if taken is not None:
            noted.pop(job.id, None)
            return taken
        device.release(job.id)      # another node took it: the next one
    return None


__all__ = ["Device", "budget", "check_fits", "claim_next", "evaluate_bytes", "generate_bytes",
           "need", "train_bytes"]
