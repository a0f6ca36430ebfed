"""The device memory estimate: counted from the real networks, growing with what grows it."""

import pytest
import torch

from deepclsmote.nn import AutoencoderConfig, build_autoencoder
from deepclsmote.resources import training_memory


def test_parameters_are_those_of_the_real_networks():
    cfg = AutoencoderConfig(1, 28, 28, dim_h=8, n_z=16)
    encoder, decoder = build_autoencoder(cfg)
    params = sum(p.numel() for net in (encoder, decoder) for p in net.parameters())
    est = training_memory((28, 28), 100, dim_h=8, n_z=16, batch_size=32)
    assert est.parameters == est.optimizer == 4 * 2 * params
    assert est.data == 4 * 100 * (28 * 28 + 16)


@pytest.mark.parametrize(("change", "part"), [
    ({"batch_size": 200}, "activations"), ({"dim_h": 32}, "parameters"),
    ({"n_images": 5000}, "data"), ({"image_shape": (32, 32, 3)}, "activations")])
def test_the_estimate_grows_with_what_it_depends_on(change, part):
    base = {"image_shape": (28, 28), "n_images": 1000, "dim_h": 16, "n_z": 32, "batch_size": 64}
    small = training_memory(**{k: v for k, v in base.items()})
    large = training_memory(**{**base, **change})
    assert getattr(large, part) > getattr(small, part) and large.total > small.total


def test_the_estimate_covers_what_training_allocates_for_activations():
    # measured on the CPU: the bytes autograd keeps for one batch's backward pass
    cfg = AutoencoderConfig(1, 28, 28, dim_h=16, n_z=32)
    encoder, decoder = build_autoencoder(cfg)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel()) or t,
                                                  lambda t: t):
        decoder(encoder(torch.zeros(64, 1, 28, 28))).sum()
    kept = 4 * sum(saved)
    est = training_memory((28, 28), 1, dim_h=16, n_z=32, batch_size=64, balanced_batches=False)
    assert kept <= est.activations <= 4 * kept
