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
