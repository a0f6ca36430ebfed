"""Dataset loaders that read local files only (never download)."""

from .builtin import load_digits_images
from .idx import load_idx_pair, read_idx

__all__ = ["load_digits_images", "load_idx_pair", "read_idx"]
