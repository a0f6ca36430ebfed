"""Figures: real and synthetic images side by side, one row per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._validation import ImageSpec, to_nchw


def _as_display(images: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """(N, H, W, 3) floats in [0, 1] from images in the caller's layout."""
    x = to_nchw(np.asarray(images), spec)
    x = np.clip((x - spec.low) / (spec.high - spec.low), 0.0, 1.0).transpose(0, 2, 3, 1)
    return np.repeat(x, 3, axis=3) if x.shape[-1] == 1 else x


def _tile_row(images: np.ndarray, pick, per_class: int, h: int, w: int, pad: int) -> np.ndarray:
    row = np.ones((h, per_class * (w + pad), 3), dtype=np.float32)
    for j, i in enumerate(pick):
        row[:, j * (w + pad) : j * (w + pad) + w] = images[i]
    return row


def real_vs_synthetic_grid(
    path,
    X_real,
    y_real,
    X_syn,
    y_syn,
    spec: ImageSpec,
    *,
    per_class: int = 10,
    title: str | None = None,
    seed: int = 0,
    names=None,
) -> Path:
    """Save a PNG: for each class, ``per_class`` real images, then synthetic ones.

    ``names`` gives each row's label for integer classes (``names[c]``); by
    default a row is labelled with its class as it is.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    y_real, y_syn = np.asarray(y_real), np.asarray(y_syn)
    classes = np.unique(np.concatenate([y_real, y_syn]))
    h, w, pad = spec.height, spec.width, max(1, spec.width // 8)
    parts = [(_as_display(X_real, spec), y_real)]
    if len(y_syn):
        parts.append((_as_display(X_syn, spec), y_syn))
    rows = []
    for cls in classes:
        blocks = []
        for imgs, labels in parts:
            idx = np.flatnonzero(labels == cls)
            pick = rng.choice(idx, min(per_class, len(idx)), replace=False)
            blocks.append(_tile_row(imgs, pick, per_class, h, w, pad))
            blocks.append(np.ones((h, 3 * pad, 3), np.float32))
        rows.append(np.concatenate(blocks[:-1], axis=1))
        rows.append(np.ones((pad, rows[-1].shape[1], 3), np.float32))
    mosaic = np.concatenate(rows[:-1], axis=0)
    scale = 0.5 / max(h, w)  # inches per pixel: each image about half an inch wide
    fig, ax = plt.subplots(figsize=(mosaic.shape[1] * scale + 1.2, mosaic.shape[0] * scale + 0.8))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([per_class * (w + pad) / 2, per_class * (w + pad) * 1.5 + 3 * pad])
    ax.set_xticklabels(["real", "synthetic"][: len(parts)] + ([""] if len(parts) == 1 else []))
    ax.xaxis.tick_top()
    ax.set_yticks([(h + pad) * i + h / 2 for i in range(len(classes))])
    label = (lambda c: c) if names is None else (lambda c: names[int(c)])
    ax.set_yticklabels([f"{label(c)} (n={int(np.sum(y_real == c))})" for c in classes],
                       fontsize=8)
    if title:
        ax.set_title(title, fontsize=9, pad=18)
    return _save(fig, ax, path)


def _save(fig, ax, path) -> Path:  # noqa: ANN001 (matplotlib's figure and axes)
    """A mosaic's figure, frameless, written as a PNG at ``path``."""
    import matplotlib.pyplot as plt

    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def nearest_real_grid(
    path,
    X_syn,
    y_syn,
    X_real,
    nearest,
    spec: ImageSpec,
    *,
    pairs: int = 4,
    max_classes: int = 12,
    flagged=None,
    title: str | None = None,
    seed: int = 0,
) -> Path:
    """Save a PNG: for each class, ``pairs`` synthetic images, each beside its nearest real
    image (``X_real[nearest[i]]``); a near-copy (``flagged[i]``) is framed in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    X_syn, X_real, y_syn = np.asarray(X_syn), np.asarray(X_real), np.asarray(y_syn)
    flagged = np.zeros(len(y_syn), bool) if flagged is None else np.asarray(flagged)
    classes = [c for c in np.unique(y_syn) if (nearest[y_syn == c] >= 0).any()][:max_classes]
    h, w, pad = spec.height, spec.width, max(1, spec.width // 8)
    cell = 2 * w + pad
    rows = []
    for cls in classes:
        idx = np.flatnonzero((y_syn == cls) & (nearest >= 0))
        shown = rng.choice(idx, min(pairs, len(idx)), replace=False)
        # only the images shown are converted for display: a job may hold tens of thousands
        syn, real = _as_display(X_syn[shown], spec), _as_display(X_real[nearest[shown]], spec)
        row = np.ones((h + 2 * pad, pairs * (cell + 3 * pad), 3), np.float32)
        for j, i in enumerate(shown):
            x0 = j * (cell + 3 * pad) + pad
            if flagged[i]:
                row[:, x0 - pad:x0 + w + pad] = (0.85, 0.1, 0.1)
            row[pad:pad + h, x0:x0 + w] = syn[j]
            row[pad:pad + h, x0 + w + pad:x0 + cell] = real[j]
        rows.append(row)
    mosaic = (np.concatenate(rows, axis=0) if rows
              else np.ones((h, pairs * (cell + 3 * pad), 3), np.float32))
    scale = 0.5 / max(h, w)
    fig, ax = plt.subplots(figsize=(mosaic.shape[1] * scale + 1.2, mosaic.shape[0] * scale + 0.8))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([(h + 2 * pad) * i + h / 2 + pad for i in range(len(classes))])
    ax.set_yticklabels([str(c) for c in classes], fontsize=8)
    ax.set_title(title or "each pair: synthetic (left), its nearest real image (right); near-"
                          "copies framed in red", fontsize=9)
    return _save(fig, ax, path)
