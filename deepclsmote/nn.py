"""DeepSMOTE's convolutional encoder and decoder, sized from the image shape.

The encoder is DeepSMOTE's: a bias-free ``Conv2d(C, h, 4, 2, 1)`` with
LeakyReLU(0.2), then stride-2 ``Conv2d`` + BatchNorm + LeakyReLU(0.2) stages
doubling the channels, flattened into ``Linear(., n_z)``. The decoder mirrors
it with ``ConvTranspose2d`` + BatchNorm + ReLU and a final Tanh.

Any image from 8x8 to 128x128 works: images of at least 16 pixels a side get
DeepSMOTE's four stride-2 stages (h, 2h, 4h, 8h), smaller ones three
(h, 2h, 4h), and images of more than 64 pixels a side a fifth (h, 2h, 4h,
8h, 8h): it halves the feature map again without doubling its channels, so
the last feature map, and with it the fully connected layers, of a 128x128
image is the size of a 64x64 image's. The input is padded (edge pixels
repeated) up to a multiple of ``2**stages`` and the decoder's output is
cropped back, so the output always has exactly the input's size, odd sizes
such as 35x35 included.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class AutoencoderConfig:
    """Everything needed to rebuild the two networks."""

    channels: int
    height: int
    width: int
    dim_h: int = 64
    n_z: int = 300

    @property
    def n_stages(self) -> int:
        side = min(self.height, self.width)
        return 5 if side > 64 else 4 if side >= 16 else 3

    def stage_channels(self, stage: int) -> int:
        """Channels out of stage ``stage`` (0-based): doubling from ``dim_h``, at most 8x."""
        return self.dim_h * 2 ** min(stage, 3)

    @property
    def padded(self) -> tuple[int, int]:
        step = 2**self.n_stages
        return (math.ceil(self.height / step) * step, math.ceil(self.width / step) * step)

    @property
    def bottleneck(self) -> tuple[int, int, int]:
        """(channels, height, width) of the last convolutional feature map."""
        step = 2**self.n_stages
        ph, pw = self.padded
        return (self.stage_channels(self.n_stages - 1), ph // step, pw // step)

    @property
    def padding(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) as F.pad expects it."""
        ph, pw = self.padded
        dh, dw = ph - self.height, pw - self.width
        return (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)

    def to_dict(self) -> dict:
        return asdict(self)


def default_latent_size(channels: int) -> int:
    """The paper's latent sizes: 300 for grey images, 600 for colour."""
    return 300 if channels == 1 else 600


class Encoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.dim_h
        layers: list[nn.Module] = [
            nn.Conv2d(cfg.channels, h, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for i in range(1, cfg.n_stages):
            c_in, c_out = cfg.stage_channels(i - 1), cfg.stage_channels(i)
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        self.conv = nn.Sequential(*layers)
        c, bh, bw = cfg.bottleneck
        self.fc = nn.Linear(c * bh * bw, cfg.n_z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.cfg.padding):
            x = F.pad(x, self.cfg.padding, mode="replicate")
        return self.fc(self.conv(x).flatten(1))


class Decoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        c, bh, bw = cfg.bottleneck
        self.fc = nn.Sequential(nn.Linear(cfg.n_z, c * bh * bw), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        for i in range(cfg.n_stages - 1, 0, -1):
            c_in, c_out = cfg.stage_channels(i), cfg.stage_channels(i - 1)
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ConvTranspose2d(cfg.dim_h, cfg.channels, 4, 2, 1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.deconv(self.fc(z).view(-1, *self.cfg.bottleneck))
        left, _, top, _ = self.cfg.padding
        return x[:, :, top : top + self.cfg.height, left : left + self.cfg.width]


def build_autoencoder(cfg: AutoencoderConfig) -> tuple[Encoder, Decoder]:
    return Encoder(cfg), Decoder(cfg)


__all__ = ["AutoencoderConfig", "Decoder", "Encoder", "build_autoencoder", "default_latent_size"]
