"""The figure of docs/results.md's foreground_margin section: the same new images, with and without.

Trains one ``deepclsmote_transfer_wide`` sampler (the evaluate command's cpu
profile: dim_h 16, n_z 32, 400 epochs) on the first fold of Fashion-MNIST
seed 5's pool (the evaluate protocol with 30 test images per class), draws
new images for a few classes, then draws them again from the same codes with
``foreground_margin=2``. Only generation changes, so each column is one new
image, without (top) and with (bottom) the margin.

Usage::

    python bench/foreground_grid.py [--data ../shared/data] [--out docs/fashion_foreground_grid.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepclsmote import DeepCLSMOTE  # noqa: E402
from deepclsmote.datasets import load_npz  # noqa: E402
from deepclsmote.evaluation import imbalance  # noqa: E402

COUNTS = [78, 39, 19, 14, 9, 7, 7, 7, 7, 7]
CLASSES = [5, 6, 7, 9]      # sandal, shirt, sneaker, ankle boot
PER_CLASS = 8


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--out", type=Path, default=Path("docs/fashion_foreground_grid.png"))
    args = p.parse_args()
    data = load_npz(args.data / "fashion-mnist-1000" / "fashion_mnist_test_subset1000.npz")
    pool, _ = imbalance.imbalanced_split(data.labels, COUNTS, test="balanced", test_per_class=30,
                                         random_state=5, classes=data.classes)
    train, _ = imbalance.stratified_folds(data.labels[pool], 5, random_state=5)[0]
    X, y = data.images[pool[train]], data.labels[pool[train]]
    sampler = DeepCLSMOTE(epochs=400, dim_h=16, n_z=32, batch_size=64, device="cpu",
                          random_state=5, decoding="residual", interpolation="transfer",
                          step_scale=1.5).fit(X, y)
    request = {c: PER_CLASS for c in CLASSES}
    rows = []
    for margin in (None, 2):
        sampler.set_params(foreground_margin=margin)
        images, labels = sampler.sample(request, random_state=0)
        rows.append([images[labels == c] for c in CLASSES])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2 * len(CLASSES), PER_CLASS, figsize=(PER_CLASS * 0.9,
                                                                 2 * len(CLASSES) * 0.95))
    for k, c in enumerate(CLASSES):
        for m, name in enumerate(("margin None", "margin 2")):
            ax_row = axes[2 * k + m]
            for j in range(PER_CLASS):
                ax_row[j].imshow(rows[m][k][j], cmap="gray", vmin=0, vmax=255)
                ax_row[j].set_xticks([])
                ax_row[j].set_yticks([])
            ax_row[0].set_ylabel(f"{data.classes[c]}\n{name}", fontsize=7)
    fig.suptitle("transfer, step_scale 1.5, residual decoding: the same new images "
                 "without and with foreground_margin=2", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
