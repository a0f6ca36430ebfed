"""The SQL tables. One schema for the embedded SQLite file and for PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class JobStatus:
    """The job states; ``TERMINAL`` ones never change again."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ALL = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
    TERMINAL = (SUCCEEDED, FAILED, CANCELLED)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source_format: Mapped[str] = mapped_column(String(16))
    n_images: Mapped[int] = mapped_column(Integer)
    image_shape: Mapped[list[int]] = mapped_column(JSON)
    classes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    imbalance_ratio: Mapped[float] = mapped_column(Float)
    #: every change made to the data on its way in (deepclsmote.datasets.Conversion); null
    #: for datasets stored before they were recorded
    conversions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True,
                                                                     default=None)
    upload_bytes: Mapped[int] = mapped_column(Integer, default=0)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class Model(Base):
    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    dataset_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    method: Mapped[str] = mapped_column(String(32))
    #: the named recipe (deepclsmote.recipes) that params were resolved from; null for
    #: models trained before recipes existed
    recipe: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    library_version: Mapped[str] = mapped_column(String(32))
    classes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    image_shape: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    dataset_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    model_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: estimated peak device memory (deepclsmote.resources); null for jobs stored before it
    memory_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True, default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    enqueued_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, default=time.time)


__all__ = ["Base", "Dataset", "Job", "JobStatus", "Model"]
