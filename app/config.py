"""The service's settings: environment variables prefixed ``DEEPCLSMOTE_``, read once.

Nothing else in the service reads the environment. ``create_app(settings)``
takes a :class:`Settings` so that tests and the CLI build their own.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Configuration of one service process (API and its job scheduler)."""

    model_config = SettingsConfigDict(env_prefix="DEEPCLSMOTE_", extra="ignore",
                                      populate_by_name=True)

    data_dir: Path = Field(Path("deepclsmote-data"),
                           description="datasets, models, artifacts and the SQLite file")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite in data_dir (WAL mode)")
    broker_url: str | None = Field(
        None, description="Celery broker (redis://..., amqp://...): jobs go to workers "
                          "(deepclsmote worker) instead of this process")
    queue: str = Field("deepclsmote", description="the broker queue of the jobs")
    visibility_timeout: int = Field(
        7 * 24 * 3600, ge=60, description="seconds before the broker redelivers an unacknowledged "
                                          "job message; longer than the longest job")
    requeue_after: float = Field(
        10.0, gt=0, description="a queued job with no message in the queue for this long is "
                                "enqueued again (a broker restart lost it)")
    device: str = Field("auto", description="torch device of the jobs: auto, cpu, cuda, cuda:1")
    api_keys: str = Field(
        "", description="comma-separated 'tenant:key' or 'tenant:sha256:<hex of the key>'; "
                        "empty runs the service open, on 127.0.0.1 only")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    run_dir: Path | None = Field(
        None, description="where serve and worker record their process id and address for "
                          "`deepclsmote health` (private to this host or container); none: "
                          "health asks the loopback's port")

    rate_limit: float = Field(50.0, ge=0, description="requests a second per API key (0: no "
                                                     "limit; none without keys)")
    rate_burst: int = Field(200, ge=1, description="requests a key may send at once")
    jobs_per_device: int = Field(
        1, ge=1, validation_alias=AliasChoices("jobs_per_device", "DEEPCLSMOTE_JOBS_PER_DEVICE",
                                               "DEEPCLSMOTE_MAX_CONCURRENT_JOBS"),
        description="job processes at once on this service's device (or a worker's GPU), "
                    "each admitted only when its estimated memory fits device_memory_mib; "
                    "DEEPCLSMOTE_MAX_CONCURRENT_JOBS is its earlier name")
    device_memory_mib: int = Field(
        0, ge=0, description="device memory the jobs of this service (or worker) may use "
                             "together, in MiB; 0: nine tenths of the GPU's, as probed, and "
                             "no limit on the CPU")
    job_memory_overhead_mib: int = Field(
        512, ge=0, description="memory a job process takes beyond its estimate (the CUDA "
                               "context, the allocator's slack), in MiB")
    max_attempts: int = Field(3, ge=1, description="runs of a job before it fails worker_lost")
    max_queued_jobs_per_tenant: int = Field(100, ge=1)
    lease_seconds: float = Field(30.0, gt=0, description="a running job's lease without heartbeat")
    poll_seconds: float = Field(0.2, gt=0, description="how often the scheduler looks for work")
    torch_threads: int = Field(0, ge=0, description="CPU threads of a job process; 0: all "
                                                   "cores but one, which the API keeps")
    job_nice: int = Field(10, ge=0, le=19, description="scheduling niceness of job processes, "
                                                     "so the API stays responsive")
    checkpoint_every: int = Field(5, ge=1, description="training checkpoint every N epochs")

    max_upload_bytes: int = Field(512 * MiB, ge=1)
    max_upload_images: int = Field(200_000, ge=2)
    max_zip_entries: int = Field(200_000, ge=1)
    max_zip_ratio: float = Field(200.0, gt=1)
    max_image_pixels: int = Field(4 * 128 * 128, ge=64,
                                  description="largest image an upload without size may hold, "
                                              "in pixels (checked before decoding; jobs take "
                                              "8 to 128 px a side)")
    max_source_pixels: int = Field(1 << 26, ge=64,
                                   description="largest image an upload with size=HxW may "
                                               "hold, in pixels (checked before decoding; "
                                               "each is decoded reduced, one at a time)")
    max_sync_samples: int = Field(256, ge=1, description="bound of POST /v1/models/{id}/samples")
    max_epochs: int = Field(2000, ge=1)

    @field_validator("api_keys")
    @classmethod
    def _keys_parse(cls, value: str) -> str:
        parse_api_keys(value)
        return value

    @cached_property
    def key_hashes(self) -> dict[str, str]:
        """``{sha256 hex of a key: tenant}``; the keys themselves are not kept."""
        return parse_api_keys(self.api_keys)

    @property
    def open_mode(self) -> bool:
        """No keys configured: everyone is the tenant ``default``."""
        return not self.key_hashes

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'deepclsmote.db').resolve()}"


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_api_keys(text: str) -> dict[str, str]:
    """``'alice:k1, bob:sha256:<hex>'`` -> ``{hash: tenant}``; a ValueError names a bad entry."""
    out: dict[str, str] = {}
    for i, entry in enumerate(e.strip() for e in text.split(",")):
        if not entry:
            continue
        tenant, sep, key = entry.partition(":")
        if not sep or not tenant or not key:
            raise ValueError(f"API key entry {i + 1} must read 'tenant:key'; got {entry[:12]!r}…")
        if key.startswith("sha256:"):
            digest = key.removeprefix("sha256:").lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(f"API key entry {i + 1}: sha256 must be 64 hex digits.")
        else:
            digest = hash_key(key)
        out[digest] = tenant
    return out


__all__ = ["Settings", "hash_key", "parse_api_keys"]
