"""How good a generate job's images are: the library's measures, a classifier cached per model.

Runs inside job processes (and the helper, for the synchronous samples). The
fidelity classifier is trained once per model, on the model's own training
images, and kept beside the model (``quality_classifier.pt``, weights only):
the first generate job of a model pays for it, later ones load it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

CLASSIFIER_FILE = "quality_classifier.pt"
#: What a near-copy policy may be: keep them unmarked, mark them, or draw others instead.
POLICIES = ("keep", "flag", "drop")


def classifier_for(model_dir: Path, sampler: Any, device: str) -> Any:
    """The model's fidelity classifier: loaded from beside the model, or trained and kept."""
    from deepclsmote.checkpoint import ModelFormatError
    from deepclsmote.quality import FidelityClassifier, fidelity_classifier

    path = Path(model_dir) / CLASSIFIER_FILE
    if path.is_file():
        try:
            return FidelityClassifier.load(path, device=device)
        except (ModelFormatError, KeyError, RuntimeError) as exc:
            logger.warning("retraining the fidelity classifier of %s: %s", model_dir, exc)
    X, y = sampler.training_data()
    classifier = fidelity_classifier(X, y, spec=sampler.image_spec_, random_state=0,
                                     device=device)
    classifier.save(path)       # atomic: two jobs of one model at once write the same file
    return classifier


def draw(sampler: Any, request: Any, *, random_state: int | None, policy: str,
         ref: Any) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic images of a request, near-copies replaced when ``policy`` is ``drop``."""
    from deepclsmote.quality import sample_without_near_copies

    if policy == "drop":
        return sample_without_near_copies(sampler, request, random_state=random_state, ref=ref)
    return sampler.sample(request, random_state=random_state)


def measure(sampler: Any, X_new: np.ndarray, y_new: np.ndarray, *, classifier: Any,
            ref: Any) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """``(report, near-copy flags, nearest real image of each)`` of the synthetic images."""
    from deepclsmote.quality import quality_report, summary_text

    X_real, y_real = sampler.training_data()
    report, flags, nearest = quality_report(X_real, y_real, X_new, y_new,
                                            classifier=classifier, encode=sampler.encode,
                                            ref=ref)
    report["summary"] = summary_text(report["overall"])
    return report, flags, nearest


__all__ = ["CLASSIFIER_FILE", "POLICIES", "classifier_for", "draw", "measure"]
