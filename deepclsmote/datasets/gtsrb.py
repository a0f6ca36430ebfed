"""GTSRB, the German Traffic Sign Recognition Benchmark (the "final" release).

Training images sit in ``Final_Training/Images/<class, 5 digits>/*.ppm`` next to
a ``GT-<class>.csv`` per class; test images in ``Final_Test/Images/*.ppm`` with
the ground truth ``GT-final_test.csv`` shipped separately. Both CSVs are
semicolon-separated: ``Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId``.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from . import _pillow
from .base import DatasetFormatError, ImageDataset, check_choice, check_size

logger = logging.getLogger(__name__)

N_CLASSES = 43
CLASSES = [str(i) for i in range(N_CLASSES)]
_COLUMNS = ("Filename", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId")


def _read_csv(csv_path: Path) -> list[tuple[str, tuple[int, int, int, int], int]]:
    """``(file name, ROI box, class)`` for each row of a GTSRB annotation file."""
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    missing = [c for c in _COLUMNS if rows and c not in rows[0]]
    if not rows or missing:
        raise DatasetFormatError(
            f"{csv_path} needs rows with columns {list(_COLUMNS)}; "
            f"{'it has no rows' if not rows else f'missing {missing}'}."
        )
    out = []
    for line, row in enumerate(rows, start=2):
        filename = row["Filename"]
        if Path(filename).name != filename or filename in ("", ".", ".."):
            raise DatasetFormatError(f"{csv_path}:{line}: Filename must be a bare file name; "
                                     f"got {filename!r}.")
        try:
            x1, y1, x2, y2, label = (int(row[c]) for c in _COLUMNS[1:])
        except (TypeError, ValueError):
            raise DatasetFormatError(
                f"{csv_path}:{line}: ROI and ClassId must be integers; got {row!r}."
            ) from None
        out.append((filename, (x1, y1, x2, y2), label))
    return out


def _load_rows(folder: Path, rows, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    arrays, labels = [], []
    for filename, (x1, y1, x2, y2), label in rows:
        source = str(folder / filename)
        with (folder / filename).open("rb") as fh:
            image = _pillow.to_mode(_pillow.open_image(fh, source), "RGB", source)
        if not (0 <= x1 < x2 <= image.width and 0 <= y1 < y2 <= image.height):
            raise DatasetFormatError(
                f"{source}: ROI ({x1}, {y1}, {x2}, {y2}) does not fit the "
                f"{image.width}x{image.height} image."
            )
        arrays.append(_pillow.to_array(_pillow.resize(image.crop((x1, y1, x2, y2)), size)))
        labels.append(label)
    return np.stack(arrays), np.array(labels, dtype=np.int64)


def load_gtsrb(
    root,
    split: str = "train",
    gt_csv=None,
    size: tuple[int, int] = (32, 32),
    name: str | None = None,
) -> ImageDataset:
    """GTSRB signs cropped to their ROI and resized: images (N, H, W, 3) uint8, 43 classes.

    Parameters
    ----------
    root : path-like
        The folder holding ``Final_Training/`` (train) or ``Final_Test/`` (test),
        ``GTSRB/`` in the official archives.
    split : {"train", "test"}, default "train"
    gt_csv : path-like, optional
        The test ground truth ``GT-final_test.csv`` (with ``ClassId``); needed
        for ``split="test"`` unless it lies in ``root``, ``root/Final_Test`` or
        ``root/Final_Test/Images``.
    size : (int, int), default (32, 32)
        Output ``(height, width)``; each ROI crop is resized with bilinear,
        antialiased filtering.
    name : str, optional
        Defaults to ``"gtsrb-<split>"``.

    Examples
    --------
    >>> train = load_gtsrb("data/GTSRB")  # doctest: +SKIP
    >>> test = load_gtsrb("data/GTSRB", "test", gt_csv="data/GT-final_test.csv")  # doctest: +SKIP
    """
    check_choice(split, ("train", "test"), "split")
    size = check_size(size)
    root = Path(root)
    if split == "train":
        images_dir = root / "Final_Training" / "Images"
        class_dirs = sorted(d for d in images_dir.glob("[0-9]*") if d.is_dir())
        if not class_dirs:
            raise FileNotFoundError(f"no class folders in {images_dir}.")
        parts = [_load_rows(d, _read_csv(d / f"GT-{d.name}.csv"), size) for d in class_dirs]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
    else:
        images_dir = root / "Final_Test" / "Images"
        if gt_csv is None:
            places = [root, root / "Final_Test", images_dir]
            gt_csv = next((p / "GT-final_test.csv" for p in places
                           if (p / "GT-final_test.csv").is_file()), None)
            if gt_csv is None:
                raise ValueError(
                    f"split='test' needs gt_csv, the path of GT-final_test.csv; none found "
                    f"in {[str(p) for p in places]}."
                )
        images, labels = _load_rows(images_dir, _read_csv(Path(gt_csv)), size)
    dataset = ImageDataset(images, labels, list(CLASSES), name or f"gtsrb-{split}")
    logger.info("loaded %d GTSRB %s images from %s", len(dataset), split, root)
    return dataset
