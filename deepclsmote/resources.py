"""What a training run needs of a device: an estimate of its peak memory, from its parameters
and the shape of its data, without touching a device.

The networks are built on PyTorch's ``meta`` device, where a forward pass
propagates shapes and allocates nothing, so the counts are those of the real
networks: parameters, and the activations one image leaves for the backward
pass. The estimate adds Adam's state, the training images and codes kept on the
device, and the batches in flight; it leaves out the allocator's slack and the
CUDA context, which a caller adds as a fixed overhead per process.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .nn import AutoencoderConfig, build_autoencoder, default_latent_size

_FLOAT = 4      # bytes of a float32


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes, by what holds them; ``total`` is their sum."""

    parameters: int
    optimizer: int
    activations: int
    data: int

    @property
    def total(self) -> int:
        return self.parameters + self.optimizer + self.activations + self.data

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def _activation_elements(cfg: AutoencoderConfig) -> tuple[int, int]:
    """(parameters, activation elements of one image through encoder and decoder)."""
    with torch.device("meta"):
        encoder, decoder = build_autoencoder(cfg)
        counted = [0]

        def hook(_module, _inputs, output):  # noqa: ANN001, ANN202
            counted[0] += output.numel()

        leaves = [m for net in (encoder, decoder) for m in net.modules()
                  if not list(m.children())]
        handles = [m.register_forward_hook(hook) for m in leaves]
        # two images: BatchNorm in training mode refuses one image of a 1x1 feature map
        decoder(encoder(torch.empty(2, cfg.channels, cfg.height, cfg.width)))
        for h in handles:
            h.remove()
    params = sum(p.numel() for net in (encoder, decoder) for p in net.parameters())
    return params, counted[0] // 2


def training_memory(image_shape, n_images: int, *, dim_h: int = 64, n_z: int | None = None,
                    batch_size: int = 100, balanced_batches: bool = True) -> MemoryEstimate:
    """Peak device memory of training a sampler, estimated.

    Parameters
    ----------
    image_shape : tuple
        ``(H, W)`` or ``(H, W, C)``.
    n_images : int
        Training images (they, and their codes, stay on the device).
    dim_h, n_z, batch_size, balanced_batches
        The sampler's parameters (``n_z=None``: the paper's size for the channels).

    Examples
    --------
    >>> small = training_memory((28, 28), 1000, dim_h=16, n_z=32, batch_size=64)
    >>> large = training_memory((28, 28), 1000, dim_h=64, n_z=300, batch_size=100)
    >>> small.total < large.total and large.parameters > 1_000_000
    True
    """
    h, w = int(image_shape[0]), int(image_shape[1])
    c = int(image_shape[2]) if len(image_shape) == 3 else 1
    cfg = AutoencoderConfig(c, h, w, dim_h=dim_h,
                            n_z=n_z if n_z is not None else default_latent_size(c))
    params, per_image = _activation_elements(cfg)
    # a batch, and the class-balanced batch the class-latent term encodes beside it; each
    # activation kept for backward and its gradient
    in_flight = batch_size * (2 if balanced_batches else 1)
    return MemoryEstimate(
        parameters=_FLOAT * params * 2,                 # weights and their gradients
        optimizer=_FLOAT * params * 2,                  # Adam's two moments
        activations=_FLOAT * per_image * in_flight * 2,
        data=_FLOAT * n_images * (c * h * w + cfg.n_z),
    )


__all__ = ["MemoryEstimate", "training_memory"]
