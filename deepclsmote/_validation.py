"""Input checks: images and their layout, labels, devices and seeds.

Every data-dependent check of the library lives here, so that an error says
the same thing whichever public method received the bad input.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils import check_random_state

MIN_SIDE = 8
MAX_SIDE = 128
_LAYOUTS = ("NHW", "NHWC", "NCHW", "flat")


@dataclass(frozen=True)
class ImageSpec:
    """How the caller's images are laid out, so outputs can be laid out alike.

    Attributes
    ----------
    layout : {"NHW", "NHWC", "NCHW", "flat"}
        ``flat`` means rows of ``H*W*C`` values in channels-last order.
    channels, height, width : int
        The image shape the networks are built for.
    dtype : str
        NumPy dtype name of the caller's array.
    low, high : float
        The caller's pixel range; it maps onto [-1, 1] inside the library.
    """

    layout: str
    channels: int
    height: int
    width: int
    dtype: str
    low: float
    high: float

    @property
    def chw(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    def to_dict(self) -> dict:
        return {
            "layout": self.layout,
            "channels": self.channels,
            "height": self.height,
            "width": self.width,
            "dtype": self.dtype,
            "low": self.low,
            "high": self.high,
        }

    @classmethod
    def from_dict(cls, d: dict) -> ImageSpec:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def _side_error(h: int, w: int) -> ValueError:
    return ValueError(
        f"Images must be between {MIN_SIDE}x{MIN_SIDE} and {MAX_SIDE}x{MAX_SIDE} pixels; "
        f"got {h}x{w}. Below {MIN_SIDE} pixels the encoder has too few stride-2 stages "
        f"to learn a code; above {MAX_SIDE} the fully connected layers outgrow the "
        f"convolutional ones. Resize the images first (the dataset loaders take "
        f"size=(H, W))."
    )


def _flat_shape(n_features: int, image_shape: tuple[int, ...] | None) -> tuple[int, int, int]:
    """(C, H, W) of flattened rows: from ``image_shape`` or a square guess."""
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) == 2:
            h, w, c = shape[0], shape[1], 1
        elif len(shape) == 3 and shape[2] in (1, 3):
            h, w, c = shape
        else:
            raise ValueError(
                f"image_shape must be (H, W) or (H, W, C) with C in (1, 3); got {image_shape}."
            )
        if h * w * c != n_features:
            raise ValueError(
                f"image_shape {image_shape} holds {h * w * c} values but X has "
                f"{n_features} features per row."
            )
        return c, h, w
    for c in (1, 3):
        side = math.isqrt(n_features // c)
        if n_features % c == 0 and side * side * c == n_features:
            return c, side, side
    raise ValueError(
        f"X is 2-D with {n_features} features per row, which is not a square grey or RGB "
        f"image; pass image_shape=(H, W) or (H, W, C)."
    )


def _detect_layout(shape: tuple[int, ...], image_shape) -> tuple[str, tuple[int, int, int]]:
    if len(shape) == 2:
        return "flat", _flat_shape(shape[1], image_shape)
    if len(shape) == 3:
        return "NHW", (1, shape[1], shape[2])
    if len(shape) == 4:
        # With sides of at least MIN_SIDE pixels, a channel axis of 1 or 3
        # cannot be mistaken for a side, so the layout is unambiguous.
        if shape[3] in (1, 3) and shape[1] not in (1, 3):
            return "NHWC", (shape[3], shape[1], shape[2])
        if shape[1] in (1, 3):
            return "NCHW", (shape[1], shape[2], shape[3])
        raise ValueError(
            f"X of shape {shape} has no channel axis of size 1 or 3 first or last; "
            f"expected (N, H, W), (N, H, W, C) or (N, C, H, W) with C in (1, 3)."
        )
    raise ValueError(
        f"X must be an array of images (N, H, W), (N, H, W, C), (N, C, H, W) or flattened "
        f"rows (N, H*W*C); got an array with {len(shape)} dimension(s) and shape {shape}."
    )


def _pixel_range(X: np.ndarray, pixel_range) -> tuple[float, float]:
    if pixel_range is not None:
        low, high = (float(v) for v in pixel_range)
        if not low < high:
            raise ValueError(f"pixel_range must be (low, high) with low < high; got {pixel_range}.")
        return low, high
    if X.dtype == np.uint8:
        return 0.0, 255.0
    lo, hi = float(X.min()), float(X.max())
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    if lo >= -1.0 and hi <= 1.0:
        return -1.0, 1.0
    if lo == hi:
        raise ValueError(f"All pixels of X have the same value {lo}; there is nothing to learn.")
    return lo, hi


def _numeric_array(X) -> np.ndarray:
    """X (array-like or torch tensor) as a NumPy array of integer or float pixels."""
    if hasattr(X, "detach"):  # a torch tensor
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.dtype == bool or X.dtype.kind not in "uif":
        raise TypeError(f"X must hold numbers (integer or float pixels); got dtype {X.dtype}.")
    return X


def _check_finite(X: np.ndarray) -> None:
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise ValueError(f"X holds {bad} non-finite value(s) (NaN or infinity).")


def check_images(X, *, image_shape=None, pixel_range=None) -> tuple[np.ndarray, ImageSpec]:
    """Validate a batch of images and describe its layout.

    Returns the images as the caller gave them (as a NumPy array, untouched)
    and the :class:`ImageSpec` that describes them; :func:`to_nchw` converts.
    """
    X = _numeric_array(X)
    layout, (c, h, w) = _detect_layout(X.shape, image_shape)
    if X.shape[0] == 0:
        raise ValueError("X holds no images.")
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise _side_error(h, w)
    _check_finite(X)
    low, high = _pixel_range(X, pixel_range)
    return X, ImageSpec(layout, c, h, w, X.dtype.name, low, high)


def check_images_like(X, spec: ImageSpec) -> np.ndarray:
    """Validate images for an already fitted sampler: same layout and shape."""
    X = _numeric_array(X)
    expected = layout_shape(spec)
    if X.ndim != len(expected) + 1 or tuple(X.shape[1:]) != expected:
        raise ValueError(
            f"X has shape {X.shape}, but the sampler was fitted on images of shape "
            f"(N, {', '.join(map(str, expected))})."
        )
    _check_finite(X)
    return to_nchw(X, spec)


def layout_shape(spec: ImageSpec) -> tuple[int, ...]:
    c, h, w = spec.chw
    return {
        "NHW": (h, w),
        "NHWC": (h, w, c),
        "NCHW": (c, h, w),
        "flat": (h * w * c,),
    }[spec.layout]


def to_nchw(X: np.ndarray, spec: ImageSpec) -> np.ndarray:
    c, h, w = spec.chw
    n = X.shape[0]
    if spec.layout == "NCHW":
        out = X
    elif spec.layout == "NHW":
        out = X[:, None, :, :]
    else:  # NHWC, or flat rows in channels-last order
        out = X.reshape(n, h, w, c).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out, dtype=np.float32)


def from_nchw(X: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """Images (N, C, H, W) in the caller's range back to the caller's layout and dtype."""
    n = X.shape[0]
    if spec.layout == "NHW":
        out = X[:, 0]
    elif spec.layout == "NCHW":
        out = X
    else:
        out = X.transpose(0, 2, 3, 1)
        if spec.layout == "flat":
            out = out.reshape(n, -1)
    out = np.clip(out, spec.low, spec.high)
    dtype = np.dtype(spec.dtype)
    if dtype.kind in "ui":
        out = np.rint(out)
    return np.ascontiguousarray(out.astype(dtype))


def scale_to_unit(X: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """Caller's range -> [-1, 1]."""
    return (2.0 * (X - spec.low) / (spec.high - spec.low) - 1.0).astype(np.float32)


def scale_from_unit(X: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """[-1, 1] -> caller's range (float)."""
    return (X + 1.0) * 0.5 * (spec.high - spec.low) + spec.low


def check_labels(y, n_samples: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels; got shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X and y have different lengths: {n_samples} images but {y.shape[0]} labels."
        )
    return y


def _name(cls):
    """A class label as a plain Python value, for messages (np.int64(2) -> 2)."""
    return cls.item() if isinstance(cls, np.generic) else cls


def check_oversampling_feasible(counts: dict, n_new: dict, interpolation: str = "smote") -> None:
    """Raise if a class that must grow has too few images to grow from.

    SMOTE needs two images of the class to interpolate between; transfer needs
    one image of the class and another class with two or more to lend steps.
    """
    need = 2 if interpolation == "smote" else 1
    for cls, n in n_new.items():
        if n > 0 and counts.get(cls, 0) < need:
            raise ValueError(
                f"Class {_name(cls)!r} has {counts.get(cls, 0)} image(s) but {n} synthetic "
                f"image(s) were requested: "
                + ("SMOTE needs at least 2 images of a class to interpolate."
                   if need == 2 else "transfer needs at least 1 image of a class to start from.")
            )
    if need == 1 and any(n > 0 for n in n_new.values()) and max(counts.values()) < 2:
        raise ValueError("transfer needs a class with at least 2 images to learn steps from.")


def effective_k(k_neighbors: int, class_size: int, cls) -> int:
    """k_neighbors shrunk to what a class can offer, with a warning when it shrinks."""
    k = min(k_neighbors, class_size - 1)
    if k < k_neighbors:
        warnings.warn(
            f"Class {_name(cls)!r} has {class_size} images, fewer than k_neighbors + 1 = "
            f"{k_neighbors + 1}; using k_neighbors={k} for it.",
            UserWarning,
            stacklevel=3,
        )
    return k


def resolve_device(device) -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything torch accepts otherwise."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available here.")
    return dev


def resolve_seed(random_state) -> int:
    """An int seed from None, an int or a RandomState, as scikit-learn accepts them."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % (2**63)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


__all__ = [
    "ImageSpec",
    "check_images",
    "check_images_like",
    "check_labels",
    "check_oversampling_feasible",
    "effective_k",
    "from_nchw",
    "resolve_device",
    "resolve_seed",
    "scale_from_unit",
    "scale_to_unit",
]
