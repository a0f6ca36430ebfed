"""DeepCLSMOTE and DeepSMOTE: oversampling imbalanced image data in a latent space.

>>> from deepclsmote import DeepCLSMOTE
>>> sampler = DeepCLSMOTE(epochs=50, random_state=0)  # doctest: +SKIP
>>> X_res, y_res = sampler.fit_resample(X, y)  # doctest: +SKIP
"""

__version__ = "0.1.0"

from ._validation import ImageSpec  # noqa: E402
from .checkpoint import ModelFormatError  # noqa: E402
from .sampler import DeepCLSMOTE, DeepSMOTE, load  # noqa: E402

__all__ = ["DeepCLSMOTE", "DeepSMOTE", "ImageSpec", "ModelFormatError", "load", "__version__"]
