"""Request and response models: limits sit on the fields, so input is checked where it enters."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import ErrorDetail

#: A seed (``random_state``); 32 bits, as NumPy's generators take them.
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
Id = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="a 32-hex-digit id")]

#: The evaluation's method names (deepclsmote.evaluation.methods.METHODS; a test
#: keeps the two equal without importing torch into the API process).
EvaluationMethod = Literal[
    "none", "none_steps", "ros", "ros_x2", "smote", "deepsmote", "deepclsmote",
    "deepclsmote_residual", "deepclsmote_transfer", "deepclsmote_transfer_wide",
    "deepclsmote_transfer_wide_x2", "deepclsmote_transfer_wide_x2_fg",
    "deepclsmote_transfer_wide_x2_fg_shift",
    "deepclsmote_transfer_wide_plus_ros", "deepclsmote_no_cl",
    "deepclsmote_paper_penalty", "deepclsmote_tuned",
]
DEFAULT_METHODS: tuple[EvaluationMethod, ...] = ("none", "ros", "smote", "deepsmote",
                                                 "deepclsmote", "deepclsmote_transfer_wide")
StrategyName = Literal["auto", "minority", "not minority", "not majority", "all"]


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- datasets ---------------------------------------------------------------
class ClassCount(BaseModel):
    name: str
    count: int


class DatasetPublic(_Out):
    """A stored dataset's manifest."""

    id: str
    name: str
    sha256: str = Field(description="of the stored canonical arrays")
    source_format: str
    n_images: int
    image_shape: list[int]
    classes: list[ClassCount]
    imbalance_ratio: float = Field(description="largest class count / smallest")
    builtin: bool
    created_at: datetime

    _created = field_validator("created_at", mode="before")(lambda v: _ts(v) if isinstance(
        v, float) else v)


# --- models -----------------------------------------------------------------
class ModelPublic(_Out):
    id: str
    dataset_id: str | None
    job_id: str | None
    method: str
    params: dict[str, Any]
    library_version: str
    classes: list[ClassCount]
    image_shape: list[int]
    created_at: datetime

    _created = field_validator("created_at", mode="before")(lambda v: _ts(v) if isinstance(
        v, float) else v)


# --- job parameters ---------------------------------------------------------
class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainParams(_Params):
    """The library's parameters of DeepCLSMOTE / DeepSMOTE (defaults are the library's)."""

    method: Literal["deepclsmote", "deepsmote"] = "deepclsmote"
    epochs: int = Field(50, ge=1, le=2000)
    batch_size: int = Field(100, ge=2, le=4096)
    lr: float = Field(2e-4, gt=0, le=1)
    dim_h: int = Field(64, ge=1, le=256)
    n_z: int | None = Field(None, ge=1, le=1024)
    k_neighbors: int = Field(5, ge=1, le=100)
    penalty: Literal["code", "paper"] | None = "code"
    w_penalty: float = Field(1.0, ge=0, le=100)
    w_compact: float = Field(0.02, ge=0, le=100, description="deepclsmote only")
    w_separation: float = Field(0.02, ge=0, le=100, description="deepclsmote only")
    decoding: Literal["direct", "residual"] = "direct"
    interpolation: Literal["smote", "transfer"] = Field(
        "smote", description="smote: toward a neighbour of the class (DeepSMOTE); transfer: by "
                             "a neighbour step of any class, best with residual decoding")
    step_scale: float = Field(1.0, gt=0, le=10, description="u ~ U(0, step_scale) along each "
                                                            "step; 1.5 with transfer measured best")
    foreground_margin: int | None = Field(
        None, ge=0, le=64, description="residual decoding only: keep the decoded change on the "
                                       "base image's foreground grown by this many pixels (no "
                                       "speckle on a dark background); null: everywhere")
    random_state: Seed = 0

    @model_validator(mode="after")
    def _margin_needs_residual(self) -> TrainParams:
        if self.foreground_margin is not None and self.decoding != "residual":
            raise ValueError("foreground_margin needs decoding 'residual'; got "
                             f"{self.decoding!r}")
        return self


class SampleParams(_Params):
    """imbalanced-learn's ``sampling_strategy``, with class names as keys."""

    sampling_strategy: StrategyName | Annotated[float, Field(gt=0, le=1)] | dict[
        str, Annotated[int, Field(ge=0, le=1_000_000)]] = "auto"
    random_state: Seed | None = None


class GenerateParams(SampleParams):
    """What to generate and in which form."""

    output: Literal["npz", "zip"] = Field("npz", description=".npz arrays or ImageFolder PNGs")
    content: Literal["synthetic", "balanced"] = Field(
        "synthetic", description="synthetic images only, or the dataset with them")


class EvaluateParams(_Params):
    # default_factory keeps each request's list its own; the schema shows the default
    methods: list[EvaluationMethod] = Field(
        default_factory=lambda: list(DEFAULT_METHODS), min_length=1, max_length=10,
        json_schema_extra={"default": list(DEFAULT_METHODS)})
    folds: int = Field(5, ge=2, le=10)
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1, max_length=10,
                              json_schema_extra={"default": [0]})
    profile: Literal["smoke", "cpu", "paper"] = "cpu"
    augment: Literal["both", "on", "off"] = "on"
    imbalance: Literal["dataset", "paper"] = Field(
        "dataset", description="keep the dataset's own class counts (scaled to the profile's "
                               "pool), or impose the papers' profile")
    test_per_class: int | None = Field(
        None, ge=1, le=100_000, description="balanced test images per class; null: a tenth "
                                            "of the smallest class, at least 2")
    lr_schedule: Literal["constant", "cosine"] = Field(
        "constant", description="the classifiers' learning rate, the same for every method: "
                                "constant, or annealed to 0 along a cosine")


class TrainJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["train"]
    dataset_id: Id
    params: TrainParams = Field(default_factory=TrainParams)


class GenerateJobCreate(BaseModel):
    """Names a ``model_id``, or a ``dataset_id`` whose latest model is used."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "anyOf": [{"required": ["model_id"]}, {"required": ["dataset_id"]}]})
    kind: Literal["generate"]
    model_id: Id | None = Field(None, description="or a dataset_id, whose latest model is used")
    dataset_id: Id | None = None
    params: GenerateParams = Field(default_factory=GenerateParams)

    @model_validator(mode="after")
    def _names_a_model(self) -> GenerateJobCreate:
        if self.model_id is None and self.dataset_id is None:
            raise ValueError("a generate job names a model_id or a dataset_id")
        return self


class EvaluateJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["evaluate"]
    dataset_id: Id
    params: EvaluateParams = Field(default_factory=EvaluateParams)


JobCreate = Annotated[TrainJobCreate | GenerateJobCreate | EvaluateJobCreate,
                      Field(discriminator="kind")]


# --- jobs -------------------------------------------------------------------
class Progress(BaseModel):
    stage: str | None = None
    epoch: int | None = None
    epochs: int | None = None
    fraction: float | None = None
    losses: dict[str, float] | None = None
    note: str | None = None
    model_config = ConfigDict(extra="allow")


class JobPublic(_Out):
    id: str
    kind: Literal["train", "generate", "evaluate"]
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    dataset_id: str | None
    model_id: str | None
    params: dict[str, Any]
    progress: Progress
    result: dict[str, Any] | None
    error: ErrorDetail | None
    attempts: int
    max_attempts: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Any) -> JobPublic:
        error = (ErrorDetail(code=job.error_code, message=job.error_message or "")
                 if job.error_code else None)
        return cls(id=job.id, kind=job.kind, status=job.status, dataset_id=job.dataset_id,
                   model_id=job.model_id, params=job.params or {},
                   progress=Progress(**(job.progress or {})), result=job.result, error=error,
                   attempts=job.attempts, max_attempts=job.max_attempts,
                   cancel_requested=bool(job.cancel_requested), created_at=_ts(job.created_at),
                   started_at=_ts(job.started_at), finished_at=_ts(job.finished_at))


class ArtifactPublic(BaseModel):
    name: str
    size: int
    sha256: str
    content_type: str
    url: str


# --- health -----------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    ready: bool
    database: str
    device: str | None = Field(description="what job processes train on (probed at start)")
    cuda_available: bool | None
    queue_depth: int
    running: int


__all__ = [
    "ArtifactPublic", "ClassCount", "DatasetPublic", "EvaluateJobCreate", "EvaluateParams",
    "EvaluationMethod", "GenerateJobCreate", "GenerateParams", "Health", "JobCreate",
    "JobPublic", "ModelPublic", "Progress", "Ready", "SampleParams", "TrainJobCreate",
    "TrainParams",
]
