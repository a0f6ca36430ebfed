"""The training step: fused or not, the same losses from the same draws."""

import numpy as np
import pytest
import torch

from deepclsmote import DeepCLSMOTE, DeepSMOTE
from deepclsmote.nn import AutoencoderConfig, build_autoencoder
from deepclsmote.training import TrainConfig, _Centroids, _ClassIndex, _step_losses


def _setup(seed=0):
    torch.manual_seed(seed)
    enc, dec = build_autoencoder(AutoencoderConfig(1, 8, 8, dim_h=4, n_z=6))
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(40, 1, 8, 8, generator=g) * 2 - 1
    y = torch.tensor([0] * 20 + [1] * 12 + [2] * 6 + [3] * 2)
    return enc, dec, X, y


CONFIGS = {
    "DeepSMOTE": {"penalty": "code"},
    "DeepCLSMOTE": {"penalty": "code", "w_compact": 0.02, "w_separation": 0.02},
    "paper penalty, ema": {"penalty": "paper", "w_compact": 0.02, "w_separation": 0.02,
                           "centroids": "ema", "shift": 1},
    "no balanced batch": {"penalty": None, "w_compact": 0.02, "w_separation": 0.02,
                          "balanced_batches": False},
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fused_and_unfused_steps_give_the_same_losses_from_the_same_draws(name):
    """With BatchNorm reading its running statistics (each image on its own), one pass over
    the batches together is the separate passes; the random draws are the same too."""
    parts = {}
    for fused in (False, True):
        enc, dec, X, y = _setup()
        enc.eval()
        dec.eval()
        cfg = TrainConfig(batch_size=16, fused_step=fused, **CONFIGS[name])
        index = _ClassIndex(y, 4)
        cents = _Centroids(4, 6, X.device, cfg.centroids, cfg.centroid_momentum)
        gen = torch.Generator().manual_seed(3)
        batch = torch.randperm(40, generator=gen)[:16]
        klass = index.draw_penalty_classes(1, gen)[0] if cfg.uses_penalty else None
        parts[fused] = torch.stack(_step_losses(enc, dec, X, y, batch, index, cents, cfg, gen,
                                                4, klass))
        parts[fused, "rng"] = gen.get_state()
    assert torch.allclose(parts[True], parts[False], rtol=1e-5, atol=1e-7)
    assert torch.equal(parts[True, "rng"], parts[False, "rng"])
    if CONFIGS[name]["penalty"]:
        assert parts[True][2] > 0
    if "w_compact" in CONFIGS[name]:
        assert parts[True][3] > 0 and parts[True][4] > 0


def test_penalty_classes_are_drawn_for_an_epoch_from_classes_of_two_images():
    y = torch.tensor([0] * 5 + [1] * 1 + [2] * 3)
    index = _ClassIndex(y, 3)
    drawn = index.draw_penalty_classes(200, torch.Generator().manual_seed(0))
    assert len(drawn) == 200 and set(drawn) == {0, 2}  # class 1 has one image
    lone = _ClassIndex(torch.tensor([0, 1]), 2)
    assert lone.draw_penalty_classes(3, torch.Generator()) == [None, None, None]


@pytest.mark.parametrize("cls", [DeepSMOTE, DeepCLSMOTE])
def test_a_fused_step_trains_and_resumes_like_the_unfused_one(tmp_path, small_imbalanced, cls):
    X, y = small_imbalanced
    run = {"epochs": 4, "dim_h": 4, "n_z": 8, "batch_size": 16, "device": "cpu",
           "random_state": 0}
    fused = cls(fused_step=True, **run).fit(X, y)
    plain = cls(**run).fit(X, y)
    first, last = fused.history_[0], fused.history_[-1]
    assert all(np.isfinite(v) for v in last.values())
    assert last["recon"] < first["recon"]
    # Both learn alike: BatchNorm's batch statistics differ, the draws do not.
    assert last["recon"] == pytest.approx(plain.history_[-1]["recon"], rel=0.2)
    # The option is saved with the model and read back.
    fused.save(tmp_path / "m")
    assert cls.load(tmp_path / "m").fused_step is True
    plain.save(tmp_path / "p")
    assert "fused_step" not in (tmp_path / "p" / "config.json").read_text()
