"""The figures' labels: what a reader of a report sees beside the images."""

import matplotlib.figure
import numpy as np

from deepclsmote._validation import ImageSpec
from deepclsmote.figures import real_vs_synthetic_grid

SPEC = ImageSpec("NHW", 1, 8, 8, "uint8", 0.0, 255.0)


def _row_labels(monkeypatch, **kwargs) -> list[str]:
    """The grid's row labels, read from the figure as it is saved."""
    seen: list[str] = []
    save = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kw):
        seen.extend(t.get_text() for t in fig.axes[0].get_yticklabels())
        return save(fig, *args, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (6, 8, 8), dtype=np.uint8)
    y = np.array([0, 0, 0, 1, 1, 2])
    real_vs_synthetic_grid(kwargs.pop("path"), X, y, X[3:], y[3:], SPEC, **kwargs)
    return seen


def test_grid_rows_name_their_classes_and_count_the_real_images(tmp_path, monkeypatch):
    labels = _row_labels(monkeypatch, path=tmp_path / "g.png",
                         names=["T-shirt/top", "Trouser", "Ankle boot"])
    assert labels == ["T-shirt/top (n=3)", "Trouser (n=2)", "Ankle boot (n=1)"]
    assert (tmp_path / "g.png").stat().st_size > 0


def test_grid_rows_show_the_labels_as_they_are_without_names(tmp_path, monkeypatch):
    assert _row_labels(monkeypatch, path=tmp_path / "g.png") == ["0 (n=3)", "1 (n=2)",
                                                                 "2 (n=1)"]
