"""What the helper process runs (see app.jobs.helper): the library, in a child process."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from ..config import Settings

logger = logging.getLogger(__name__)


def inspect_model(model_dir: str) -> dict[str, Any]:
    """Load a saved model (weights only, never unpickled) and describe it."""
    import deepclsmote
    from deepclsmote.recipes import describe

    model = deepclsmote.load(model_dir, device="cpu")
    counts = model._class_counts()
    params = {k: v for k, v in model.get_params().items() if k not in model._unsaved_params
              and isinstance(v, (int, float, str, bool, type(None)))}
    # saved before recipes: the recipe nearest its parameters
    recipe = describe(type(model).__name__, params, name=getattr(model, "_recipe", None))
    return {"method": type(model).__name__.lower(), "recipe": recipe["name"],
            "params": params,
            "classes": [{"name": str(c), "count": int(n)} for c, n in counts.items()],
            "image_shape": _shape(model.image_spec_)}


def _shape(spec) -> list[int]:  # noqa: ANN001
    """As the service stores images: (H, W) for grey, (H, W, C) for colour."""
    return [spec.height, spec.width] + ([spec.channels] if spec.channels > 1 else [])


_cache: dict[str, Any] = {}


def strategy_for(model: Any, strategy: Any) -> Any:
    """Class names (JSON keys are always strings) back to the model's own class values."""
    if not isinstance(strategy, dict):
        return strategy
    by_name = {str(c): c for c in model.classes_.tolist()}
    return {by_name.get(name, name): n for name, n in strategy.items()}


def sample(model_dir: str, strategy: Any, random_state: int | None, device: str,
           limit: int, near_copies: str = "keep") -> bytes:
    """Synthetic images of a model as ``.npz`` bytes (at most ``limit``); with
    ``near_copies`` "flag", a ``near_copy`` array marks them, with "drop" none are kept."""
    import deepclsmote
    from deepclsmote.quality import near_copies as flag_near_copies
    from deepclsmote.quality import reference

    from .quality import draw

    if _cache.get("dir") != model_dir:
        _cache.clear()  # one model in memory at a time, with its real images' reference
        _cache.update(dir=model_dir, model=deepclsmote.load(model_dir, device=device))
    model = _cache["model"]
    request = model._resolve_request(strategy_for(model, strategy))
    total = sum(request.values())
    if total > limit:
        raise ValueError(f"{total} images asked for; synchronous sampling returns at most "
                         f"{limit}; submit a generate job for more")
    if near_copies != "keep" and "reference" not in _cache:
        _cache["reference"] = reference(*model.training_data())
    X, y = draw(model, request, random_state=random_state, policy=near_copies,
                ref=_cache.get("reference"))
    arrays = {"images": X, "labels": y.astype(str)}    # names, as the API shows them
    if near_copies == "flag":
        X_real, y_real = model.training_data()
        arrays["near_copy"] = flag_near_copies(_cache["reference"], X_real, y_real, X, y)[0]
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


FUNCTIONS: dict[str, Callable[..., Any]] = {"inspect_model": inspect_model, "sample": sample}


def serve(conn, settings_json: str) -> None:  # noqa: ANN001 (multiprocessing Connection)
    """The helper's loop: one request at a time until the pipe closes."""
    Settings.model_validate_json(settings_json)
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send((True, FUNCTIONS[fn](*args)))
        except (ValueError, TypeError, KeyError, FileNotFoundError) as exc:
            conn.send((False, ("invalid_input", str(exc))))
        except Exception as exc:  # noqa: BLE001 - reported to the caller, logged here
            logger.exception("helper %s failed", fn)
            conn.send((False, ("invalid_input", f"{type(exc).__name__}: {exc}")))
