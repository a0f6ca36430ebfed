"""DeepCLSMOTE and DeepSMOTE: oversampling imbalanced image data in a latent space.

>>> from deepclsmote import make_sampler
>>> sampler = make_sampler("recommended", epochs=50, random_state=0)  # doctest: +SKIP
>>> X_res, y_res = sampler.fit_resample(X, y)  # doctest: +SKIP

``make_sampler`` builds a named recipe (:data:`deepclsmote.recipes.RECIPES`);
``DeepCLSMOTE()`` and ``DeepSMOTE()`` are the published methods as published.
"""

__version__ = "0.1.0"

from ._validation import ImageSpec  # noqa: E402
from .checkpoint import ModelFormatError  # noqa: E402
from .recipes import DEFAULT_RECIPE, RECIPES, make_sampler  # noqa: E402
from .sampler import DeepCLSMOTE, DeepSMOTE, load  # noqa: E402

__all__ = ["DEFAULT_RECIPE", "RECIPES", "DeepCLSMOTE", "DeepSMOTE", "ImageSpec",
           "ModelFormatError", "load", "make_sampler", "__version__"]
