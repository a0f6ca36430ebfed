"""Request and response models: limits sit on the fields, so input is checked where it enters."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from deepclsmote._validation import MAX_SIDE, MIN_SIDE
from deepclsmote.evaluation.methods import METHODS as _METHODS
from deepclsmote.evaluation.protocol import class_warnings
from deepclsmote.recipes import RECIPES as _RECIPES

from .db.catalog import Names, model_name
from .errors import ErrorDetail

#: A seed (``random_state``); 32 bits, as NumPy's generators take them.
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
Id = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="a 32-hex-digit id")]

#: The recipes' names (deepclsmote.recipes.RECIPES) and the evaluation's method names
#: (deepclsmote.evaluation.methods.METHODS), spelled out for the schema; a test keeps them equal.
RecipeName = Literal["recommended", "deepclsmote-paper", "deepsmote-paper"]
EvaluationMethod = Literal["none", "ros", "smote", "recommended", "deepclsmote-paper",
                           "deepsmote-paper"]
DEFAULT_METHODS: tuple[EvaluationMethod, ...] = ("none", "ros", "recommended",
                                                 "deepclsmote-paper", "deepsmote-paper")
StrategyName = Literal["auto", "minority", "not minority", "not majority", "all"]


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- datasets ---------------------------------------------------------------
def _image_size(text: str) -> str:
    height, width = (int(v) for v in text.lower().split("x"))
    if not (MIN_SIDE <= height <= MAX_SIDE and MIN_SIDE <= width <= MAX_SIDE):
        raise ValueError(f"jobs take images of {MIN_SIDE} to {MAX_SIDE} pixels a side; got "
                         f"{height}x{width}")
    return f"{height}x{width}"


#: An upload's ``size``: "HxW", such as "64x64".
ImageSizeText = Annotated[str, Field(pattern=r"^[0-9]{1,4}[xX][0-9]{1,4}$",
                                     examples=["64x64"]), AfterValidator(_image_size)]
ImageMode = Literal["L", "RGB"]
FitName = Literal["stretch", "crop", "pad"]
SplitName = Literal["train", "test", "all"]

#: What each upload option does, for the schema, the command line and the dashboard.
UPLOAD_OPTIONS = {
    "size": f"HxW (such as 64x64, {MIN_SIDE} to {MAX_SIDE} a side): resize every image to "
            f"it; large images are decoded reduced, one at a time. Without it, images must "
            f"share one size",
    "mode": "L or RGB: convert every image to grey or colour. Without it, grey images stay "
            "grey and others become RGB, and all must end up alike",
    "fit": "with size, how an image of another aspect ratio meets it: stretch (the "
           "default: each side scaled), crop (scaled to cover, the centre kept) or pad "
           "(scaled to fit, the rest black)",
    "split": "for an archive of train/<class>/... and test/<class>/... folders, or of IDX "
             "train and t10k pairs: train, test or all (the default: all)",
    "header": "for a CSV: true if the first row is a header, false if it is an image; by "
              "default told from the file, and asked for when it cannot be",
}


class ClassCount(BaseModel):
    name: str
    count: int


class ConversionPublic(BaseModel):
    """One change made to the data on its way in."""

    kind: Literal["resize", "mode", "alpha", "frames", "split", "header", "skipped", "layout",
                  "pixels"]
    count: int | None = Field(description="the images, files or rows it concerned, where that "
                                          "is a count")
    detail: str


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
    conversions: list[ConversionPublic] | None = Field(
        description="every change made to the data on its way in: resize, mode change, alpha "
                    "composited onto white, split chosen, CSV header decision, files or rows "
                    "skipped and why, layout, float pixels; null for datasets stored before "
                    "they were recorded")
    builtin: bool
    created_at: datetime

    @computed_field(description="what the dataset's small classes cannot be used for: too few "
                                "images to evaluate (2 needed, 3 for smote and the paper "
                                "recipes) or to oversample by interpolation")
    def warnings(self) -> list[str]:
        return class_warnings([c.count for c in self.classes], [c.name for c in self.classes])

    _created = field_validator("created_at", mode="before")(lambda v: _ts(v) if isinstance(
        v, float) else v)


class DatasetUploaded(DatasetPublic):
    """An upload's answer: the stored dataset, new (201) or already there (200)."""

    duplicate: bool = Field(description="true: the tenant already had a dataset of this "
                                        "canonical content, which is the answer (status 200, "
                                        "its own name and conversions); false: stored now "
                                        "(status 201)")


# --- models -----------------------------------------------------------------
class ModelPublic(_Out):
    id: str
    name: str = Field(description="its dataset's name and its recipe, 'digits · recommended' "
                                  "(models have no name of their own)")
    dataset_id: str | None
    dataset_name: str | None = Field(None, description="null: uploaded, or dataset deleted")
    job_id: str | None
    method: str = Field(description="the sampler class: deepclsmote or deepsmote")
    recipe: str | None = Field(None, description="the recipe it was trained with; null for "
                                                 "models trained before recipes")
    params: dict[str, Any] = Field(description="every parameter of the method, as resolved "
                                               "from the recipe and the overrides")
    library_version: str
    classes: list[ClassCount]
    image_shape: list[int]
    created_at: datetime

    _created = field_validator("created_at", mode="before")(lambda v: _ts(v) if isinstance(
        v, float) else v)

    @classmethod
    def of(cls, model: Any, names: Names) -> ModelPublic:
        dataset_name = names.datasets.get(model.dataset_id or "")
        return cls.model_validate({
            **{k: getattr(model, k) for k in cls.model_fields if hasattr(model, k)},
            "dataset_name": dataset_name,
            "name": model_name(dataset_name=dataset_name, dataset_id=model.dataset_id,
                               recipe=model.recipe, method=model.method)})


class RecipePublic(BaseModel):
    """A named recipe: what a train job gets when it names it."""

    name: RecipeName
    description: str
    estimator: str = Field(description="the library's sampler class")
    params: dict[str, Any] = Field(description="every parameter of the method the recipe "
                                               "resolves to (random_state: the job's seed)")
    measured: str = Field(description="where its measured figures are")
    default: bool = Field(description="what a train job without a recipe gets")


# --- job parameters ---------------------------------------------------------
class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _listed(names: dict[str, str]) -> str:
    return "; ".join(f"`{name}`: {text}" for name, text in names.items())


class TrainParams(_Params):
    """A recipe, and any of the library's parameters that should differ from it.

    A parameter left out takes the recipe's value (``GET /v1/recipes`` lists
    them); one given overrides it.
    """

    recipe: RecipeName = Field(
        "recommended", description="what to train: "
        + _listed({n: r.description for n, r in _RECIPES.items()}))
    method: Literal["deepclsmote", "deepsmote"] | None = Field(
        None, deprecated=True, description="earlier versions' choice of sampler: `deepclsmote` "
                                           "trains the recipe `deepclsmote-paper`, `deepsmote` "
                                           "the recipe `deepsmote-paper`; use `recipe`")
    epochs: int | None = Field(None, ge=1, le=2000)
    batch_size: int | None = Field(None, ge=2, le=4096)
    lr: float | None = Field(None, gt=0, le=1)
    dim_h: int | None = Field(None, ge=1, le=256)
    n_z: int | None = Field(None, ge=1, le=1024, description="null: 300 for grey images, 600 "
                                                             "for colour")
    k_neighbors: int | None = Field(None, ge=1, le=100)
    penalty: Literal["code", "paper"] | None = None
    w_penalty: float | None = Field(None, ge=0, le=100)
    w_compact: float | None = Field(None, ge=0, le=100, description="DeepCLSMOTE only")
    w_separation: float | None = Field(None, ge=0, le=100, description="DeepCLSMOTE only")
    decoding: Literal["direct", "residual"] | None = None
    interpolation: Literal["smote", "transfer"] | None = Field(
        None, description="smote: toward a neighbour of the class (DeepSMOTE); transfer: by "
                          "a neighbour step of any class, with residual decoding")
    step_scale: float | None = Field(None, gt=0, le=10,
                                     description="u ~ U(0, step_scale) along each step")
    foreground_margin: int | None = Field(
        None, ge=0, le=64, description="residual decoding only: keep the decoded change on the "
                                       "base image's foreground grown by this many pixels (no "
                                       "speckle on a dark background); null: everywhere")
    random_state: Seed = 0

    @model_validator(mode="after")
    def _method_names_a_recipe(self) -> TrainParams:
        if self.method is not None and "recipe" in self.model_fields_set and (
                self.recipe != f"{self.method}-paper"):
            raise ValueError(f"method {self.method!r} (deprecated) is the recipe "
                             f"'{self.method}-paper', but recipe {self.recipe!r} was given; "
                             f"give only recipe")
        return self

    def requested(self) -> tuple[str, dict[str, Any]]:
        """The recipe and the parameters given to override it (the seed always among them)."""
        given = self.model_dump(include=self.model_fields_set - {"recipe", "method"})
        recipe = f"{self.method}-paper" if self.method and "recipe" not in (
            self.model_fields_set) else self.recipe
        return recipe, {**given, "random_state": self.random_state}

class SampleParams(_Params):
    """imbalanced-learn's ``sampling_strategy``, with class names as keys."""

    sampling_strategy: StrategyName | Annotated[float, Field(gt=0, le=1)] | dict[
        str, Annotated[int, Field(ge=0, le=1_000_000)]] = "auto"
    random_state: Seed | None = Field(
        None, description="the seed of the new images; null: a fresh one for each synchronous "
                          "request (its X-Random-State header names it), the model's own seed "
                          "for a generate job")
    near_copies: Literal["keep", "flag", "drop"] = Field(
        "keep", description="synthetic images closer to a real image of their class than 99 % "
                            "of real images are to each other: `keep` them, `flag` them (a "
                            "`near_copy` array in .npz outputs, `near_copies.txt` in zips), or "
                            "`drop` them and draw others in their place (a job that cannot "
                            "fill its counts in 10 draws fails, code `near_copies`)")


class GenerateParams(SampleParams):
    """What to generate and in which form."""

    output: Literal["npz", "zip"] = Field("npz", description=".npz arrays or ImageFolder PNGs")
    content: Literal["synthetic", "balanced"] = Field(
        "synthetic", description="synthetic images only, or the dataset with them")


class EvaluateParams(_Params):
    # default_factory keeps each request's list its own; the schema shows the default
    methods: list[EvaluationMethod] = Field(
        default_factory=lambda: list(DEFAULT_METHODS), min_length=1, max_length=10,
        json_schema_extra={"default": list(DEFAULT_METHODS)},
        description="compared with the same classifier: " + _listed(_METHODS))
    grow: float = Field(1.0, ge=1, le=10, description="how far every oversampling method grows "
                                                      "the classes, as a multiple of the "
                                                      "largest: 1 balances; 2 grows every "
                                                      "class, the largest included, to twice "
                                                      "the largest")
    folds: int = Field(5, ge=2, le=10)
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1, max_length=10,
                              json_schema_extra={"default": [0]})
    profile: Literal["smoke", "cpu", "paper"] = "cpu"
    augment: Literal["both", "on", "off"] = "on"
    imbalance: Literal["dataset", "paper"] = Field(
        "dataset", description="`dataset`: your data as it is, in stratified folds (at most "
                               "as many as the smallest class has images), each fold's "
                               "held-out part the test, as imbalanced as the data; every "
                               "class needs 2 images (3 with smote or a paper recipe). "
                               "`paper`: the papers' protocol for benchmark sets, an "
                               "imbalanced pool with their class counts and a balanced test "
                               "set")
    test_per_class: int | None = Field(
        None, ge=1, le=100_000, description="imbalance `paper` only: balanced test images per "
                                            "class; null: a tenth of the smallest class, at "
                                            "least 2")
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
    seconds_left: int | None = Field(None, description="estimated from the measured time of "
                                                       "the steps done so far")
    model_config = ConfigDict(extra="allow")


class JobPublic(_Out):
    id: str
    kind: Literal["train", "generate", "evaluate"]
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    dataset_id: str | None
    dataset_name: str | None = Field(None, description="null: none, or deleted")
    model_id: str | None
    model_name: str | None = Field(None, description="the model's name (its dataset's and "
                                                     "its recipe); null: none yet, or deleted")
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
    def of(cls, job: Any, names: Names | None = None) -> JobPublic:
        error = (ErrorDetail(code=job.error_code, message=job.error_message or "")
                 if job.error_code else None)
        names = names or Names()
        return cls(id=job.id, kind=job.kind, status=job.status, dataset_id=job.dataset_id,
                   dataset_name=names.datasets.get(job.dataset_id or ""),
                   model_id=job.model_id, model_name=names.models.get(job.model_id or ""),
                   params=job.params or {},
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
    "ArtifactPublic", "ClassCount", "ConversionPublic", "DatasetPublic", "DatasetUploaded",
    "EvaluateJobCreate", "EvaluateParams", "FitName", "ImageMode", "ImageSizeText",
    "SplitName", "UPLOAD_OPTIONS",
    "EvaluationMethod", "GenerateJobCreate", "GenerateParams", "Health", "JobCreate",
    "JobPublic", "ModelPublic", "Progress", "Ready", "RecipeName", "RecipePublic",
    "SampleParams", "TrainJobCreate", "TrainParams",
]
