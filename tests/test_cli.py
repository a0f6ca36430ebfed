import json

import numpy as np
from PIL import Image

from deepclsmote import load
from deepclsmote.cli import main


def test_demo_writes_a_grid_a_balanced_set_and_a_model(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(["demo", "--out", str(out), "--epochs", "2", "--dim-h", "4", "--n-z", "8",
               "--device", "cpu"])
    assert rc == 0
    with Image.open(out / "grid.png") as img:
        assert img.size[0] > 200 and img.size[1] > 200
    with np.load(out / "resampled.npz") as data:
        assert np.bincount(data["labels"]).tolist() == [150] * 10
        assert data["images"].dtype == np.uint8
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts_after"]["9"] == 150
    assert load(out / "model").sample({9: 3})[0].shape == (3, 8, 8)
    assert "balanced in" in capsys.readouterr().out


def test_resample_command_and_its_errors(tmp_path, capsys):
    rng = np.random.default_rng(0)
    src = tmp_path / "in.npz"
    np.savez(src, X=rng.integers(0, 256, (30, 8, 8), dtype=np.uint8),
             y=np.array([0] * 20 + [1] * 10))
    rc = main(["resample", str(src), "--out", str(tmp_path / "out.npz"), "--epochs", "1",
               "--dim-h", "4", "--n-z", "8", "--device", "cpu", "--train-shift", "1"])
    assert rc == 0
    with np.load(tmp_path / "out.npz") as data:
        assert np.bincount(data["labels"]).tolist() == [20, 20]
    rc = main(["resample", str(src), "--out", str(tmp_path / "o1.npz"), "--epochs", "1",
               "--device", "cpu", "--train-shift", "-1"])
    assert rc == 2
    assert "'train_shift' parameter" in capsys.readouterr().err
    np.savez(src, X=np.zeros((3, 4, 4)), y=np.array([0, 1, 1]))
    rc = main(["resample", str(src), "--out", str(tmp_path / "o2.npz"), "--device", "cpu"])
    assert rc == 2
    assert "between 8x8 and 128x128" in capsys.readouterr().err
