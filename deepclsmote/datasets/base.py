"""The one result type of every loader, and the checks it makes on itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: How ``size`` is met by an image of another aspect ratio: ``stretch`` scales each side
#: to the size (the aspect ratio changes), ``crop`` scales the image to cover the size and
#: cuts the centre out, ``pad`` scales it to fit inside and fills the rest with black.
FITS = ("stretch", "crop", "pad")


class DatasetFormatError(ValueError):
    """Files or arrays that do not form an image dataset this package can load.

    Raised for malformed, inconsistent or unsafe content (a pickle asking for
    arbitrary objects, a zip member escaping its folder, labels out of range...).
    Bad arguments, such as an unknown ``split``, raise a plain ``ValueError``.
    """


class NeedsOption(DatasetFormatError):
    """Content that a loader can read once the caller gives one of its options.

    Images of several sizes (``size``), grey and colour images together
    (``mode``), an image too large to decode whole (``size``), a CSV whose
    first row may or may not be a header (``header``).

    Attributes
    ----------
    facts : str
        What was found, without advice.
    options : tuple of str
        The loader arguments that would let the content through, so that a
        caller that spells them otherwise (a command line, a web form) can
        give the advice in its own words.
    """

    def __init__(self, facts: str, options: tuple[str, ...], hint: str):
        super().__init__(f"{facts}; {hint}")
        self.facts = facts
        self.options = options


@dataclass(frozen=True)
class Conversion:
    """One change a loader made to the data on its way in.

    Loaders record every change that is not a plain decode, so that nothing
    is lost or altered without a word: images resized or converted, alpha
    composited, a split chosen, a header row read, files or rows skipped.

    Attributes
    ----------
    kind : str
        ``resize``, ``mode``, ``alpha``, ``frames``, ``split``, ``header``,
        ``skipped``, ``layout`` or ``pixels``.
    detail : str
        One sentence for a person.
    count : int or None
        How many images, files or rows it concerned, where that is a count.
    """

    kind: str
    detail: str
    count: int | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "count": self.count, "detail": self.detail}


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to a single bool
class ImageDataset:
    """Images, integer labels and class names, checked when built.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, H, W) or (N, H, W, 3)
        Grey images, or colour images with channels last.
    labels : ndarray of int64, shape (N,)
        Class indices in ``0 .. len(classes) - 1``.
    classes : list of str
        Class names; ``classes[labels[i]]`` names image ``i``'s class. A class
        may hold no images (EMNIST letters' unused class 0, for instance).
    name : str
        A short description, such as ``"mnist-test"``.
    conversions : tuple of Conversion, optional
        What the loader changed on the way in (empty when it changed nothing).

    Examples
    --------
    >>> import numpy as np
    >>> ds = ImageDataset(np.zeros((3, 8, 8), np.uint8), np.array([0, 1, 1]), ["a", "b"], "toy")
    >>> len(ds), ds.counts().tolist()
    (3, [1, 2])
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    name: str
    conversions: tuple[Conversion, ...] = ()

    def __post_init__(self) -> None:
        images, labels, classes = self.images, self.labels, self.classes
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
            got = str(images.dtype) if isinstance(images, np.ndarray) else type(images).__name__
            raise DatasetFormatError(f"{self.name}: images must be a uint8 array; got {got}.")
        if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
            raise DatasetFormatError(
                f"{self.name}: images must have shape (N, H, W) or (N, H, W, 3); "
                f"got {images.shape}."
            )
        if not isinstance(labels, np.ndarray) or labels.dtype != np.int64 or labels.ndim != 1:
            got = (f"{labels.dtype} {labels.shape}" if isinstance(labels, np.ndarray)
                   else type(labels).__name__)
            raise DatasetFormatError(
                f"{self.name}: labels must be a 1-D int64 array; got {got}."
            )
        if len(images) != len(labels):
            raise DatasetFormatError(
                f"{self.name}: {len(images)} images but {len(labels)} labels."
            )
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise DatasetFormatError(
                f"{self.name}: classes must be a list of str; got {classes!r:.80}."
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise DatasetFormatError(
                f"{self.name}: labels must lie in 0..{len(classes) - 1} ({len(classes)} "
                f"classes); got values from {labels.min()} to {labels.max()}."
            )

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (f"ImageDataset(name={self.name!r}, images={self.images.shape}, "
                f"classes={len(self.classes)})")

    def counts(self) -> np.ndarray:
        """Images per class, an int64 array of length ``len(classes)``."""
        return np.bincount(self.labels, minlength=len(self.classes)).astype(np.int64)


def check_choice(value: str, choices: Sequence[str], what: str) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError``."""
    if value not in choices:
        raise ValueError(f"{what} must be one of {list(choices)}; got {value!r}.")
    return value


def check_fit(fit: str) -> str:
    """``fit`` if it is one of :data:`FITS`, else a ``ValueError``."""
    return check_choice(fit, FITS, "fit")


def check_size(size) -> tuple[int, int]:
    """``size`` as a ``(height, width)`` pair of positive ints, else a ``ValueError``."""
    try:
        height, width = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be a (height, width) pair; got {size!r}.") from None
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive; got {size!r}.")
    return height, width


def default_classes(labels: np.ndarray) -> list[str]:
    """Names ``"0" .. str(max)`` for integer labels kept as they are in the file."""
    top = int(labels.max()) + 1 if len(labels) else 0
    return [str(i) for i in range(top)]
