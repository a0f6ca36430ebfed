"""CUDA paths: run where a GPU is present (bench/gpu_check.sh), skipped elsewhere."""

import numpy as np
import pytest
import torch

from deepclsmote import DeepCLSMOTE

pytestmark = pytest.mark.cuda
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device on this machine")


@needs_cuda
@pytest.mark.parametrize("mixed_precision", [False, True])
def test_fit_resample_on_cuda(small_imbalanced, mixed_precision):
    X, y = small_imbalanced
    sampler = DeepCLSMOTE(epochs=2, dim_h=8, n_z=16, batch_size=16, device="cuda",
                          mixed_precision=mixed_precision, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.device_.type == "cuda"
    assert sampler.codes_.device.type == "cuda"
    assert np.bincount(y_res).tolist() == [30, 30, 30]
    assert X_res.dtype == np.uint8
    assert all(np.isfinite(v) for v in sampler.history_[-1].values())


@needs_cuda
def test_auto_device_picks_cuda_and_loads_on_cpu(tmp_path, small_imbalanced):
    sampler = DeepCLSMOTE(epochs=1, dim_h=4, n_z=8, random_state=0).fit(*small_imbalanced)
    assert sampler.device_.type == "cuda"
    sampler.save(tmp_path / "m")
    cpu = DeepCLSMOTE.load(tmp_path / "m", device="cpu")
    assert cpu.sample({2: 5})[0].shape == (5, 8, 8)


@needs_cuda
def test_transfer_with_residual_decoding_on_cuda(small_imbalanced):
    """The transfer steps, the residual decoding and the seeded draw all stay on the GPU."""
    X, y = small_imbalanced
    sampler = DeepCLSMOTE(epochs=2, dim_h=8, n_z=16, batch_size=16, device="cuda",
                          interpolation="transfer", decoding="residual", random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [30, 30, 30]
    first = sampler.sample({2: 7}, random_state=3)[0]
    again = sampler.sample({2: 7}, random_state=3)[0]
    assert first.shape == (7, 8, 8) and np.array_equal(first, again)
    assert not np.array_equal(first, sampler.sample({2: 7}, random_state=4)[0])


def _steps(device: str, fused: bool, steps: int = 2) -> list[float]:
    """A few optimiser steps of DeepCLSMOTE's training step on ``device``."""
    from deepclsmote.nn import AutoencoderConfig, build_autoencoder
    from deepclsmote.training import TrainConfig, _Centroids, _ClassIndex, _step_losses

    torch.manual_seed(0)
    enc, dec = (net.to(device) for net in build_autoencoder(
        AutoencoderConfig(1, 8, 8, dim_h=4, n_z=6)))
    X = torch.rand(40, 1, 8, 8, device=device) * 2 - 1
    y = torch.tensor([0] * 20 + [1] * 12 + [2] * 6 + [3] * 2, device=device)
    cfg = TrainConfig(batch_size=16, w_compact=0.02, w_separation=0.02, centroids="ema",
                      shift=1, fused_step=fused)
    index = _ClassIndex(y, 4)
    cents = _Centroids(4, 6, X.device, cfg.centroids, cfg.centroid_momentum)
    gen = torch.Generator(device=device).manual_seed(0)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()))
    batch = torch.randperm(40, generator=gen, device=device)[:16]
    classes = index.draw_penalty_classes(steps, gen)  # the epoch's one wait for the device
    losses = []
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")  # any wait for the GPU raises
    try:
        for klass in classes:
            parts = _step_losses(enc, dec, X, y, batch, index, cents, cfg, gen, 4, klass)
            loss = parts[1] + parts[2] + 0.02 * parts[3] + 0.02 * parts[4]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    finally:
        if device == "cuda":
            torch.cuda.set_sync_debug_mode(0)
    return [float(v) for v in losses]


@needs_cuda
@pytest.mark.parametrize("fused", [False, True])
def test_a_training_step_never_waits_for_the_gpu(fused):
    """No host-device synchronisation inside a step: the GPU's queue stays full."""
    losses = _steps("cuda", fused)
    assert all(np.isfinite(losses))


@pytest.mark.parametrize("fused", [False, True])
def test_the_synchronisation_check_runs_its_steps(fused):
    """The same steps on the CPU, so the check above is known to run where it cannot."""
    losses = _steps("cpu", fused)
    assert len(losses) == 2 and all(np.isfinite(losses))
