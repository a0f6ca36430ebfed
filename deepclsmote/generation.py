"""SMOTE in the latent space, and decoding the new codes into images.

Two ways to make a new code from a real base code of the class to grow, the
base codes drawn uniformly with replacement and ``u ~ U(0, step_scale)``
(``step_scale = 1`` by default, as in SMOTE):

- ``"smote"`` (DeepSMOTE): the k nearest neighbours of every code within its
  class (self excluded), one of the base's neighbours at random, and
  ``z = base + u * (neighbour - base)``.
- ``"transfer"``: ``z = base + u * (b - a)``, with ``(a, b)`` a training code
  of any class and its nearest neighbour of the same class. A class of ten
  images only offers the variation between those ten; the steps between
  neighbours of the large classes (slant, stroke width, pose) are lent to it.

Everything runs vectorised on the model's device.

Two decodings:

- ``"direct"`` (DeepSMOTE): the image is ``D(z)``.
- ``"residual"``: ``x_base + D(z) - D(z_base)``, clipped to [-1, 1]. The real
  base image keeps its detail and gains the change the interpolation makes.
  With a ``foreground_margin`` the change is kept only on the base image's
  foreground (pixels above a tenth of the range, in any channel) grown by
  that many pixels: a step lent by a shirt then cannot speckle the black
  background around a sandal. Only dark pixels (every channel under a tenth
  of the pixel range) further than the margin from brighter ones keep the
  base image, so an image without a dark background is left as it was.
"""

from __future__ import annotations

import torch

from .nn import Decoder

DECODINGS = ("direct", "residual")
INTERPOLATIONS = ("smote", "transfer")
_KNN_CHUNK = 4096


def class_neighbours(codes: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (n, k) of each code's k nearest other codes, in row chunks."""
    out = []
    for start in range(0, codes.shape[0], _KNN_CHUNK):
        d = torch.cdist(codes[start : start + _KNN_CHUNK], codes)
        rows = torch.arange(d.shape[0], device=codes.device)
        d[rows, rows + start] = float("inf")
        out.append(d.topk(k, dim=1, largest=False).indices)
    return torch.cat(out)


def interpolate(codes: torch.Tensor, k: int, n_new: int, gen: torch.Generator,
                step_scale: float = 1.0):
    """``n_new`` SMOTE codes from one class's ``codes``; also the base indices."""
    nbrs = class_neighbours(codes, k)
    base = torch.randint(codes.shape[0], (n_new,), generator=gen, device=gen.device)
    pick = torch.randint(k, (n_new,), generator=gen, device=gen.device)
    neighbour = nbrs[base, pick]
    u = step_scale * torch.rand(n_new, 1, generator=gen, device=gen.device)
    z = codes[base] + u * (codes[neighbour] - codes[base])
    return z, base


def neighbour_steps(codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``b - a`` for every code ``a`` of a class of 2+ codes, ``b`` its nearest class neighbour."""
    steps = []
    for cls in torch.unique(labels):
        members = torch.nonzero(labels == cls).flatten()
        if members.numel() >= 2:
            nearest = class_neighbours(codes[members], 1)[:, 0]
            steps.append(codes[members[nearest]] - codes[members])
    if not steps:
        raise ValueError("transfer needs a class with at least 2 images to learn steps from.")
    return torch.cat(steps)


def transfer(codes: torch.Tensor, steps: torch.Tensor, n_new: int, gen: torch.Generator,
             step_scale: float = 1.0):
    """``n_new`` codes: a base from ``codes`` moved by ``u`` times one of ``steps``."""
    base = torch.randint(codes.shape[0], (n_new,), generator=gen, device=gen.device)
    pick = torch.randint(steps.shape[0], (n_new,), generator=gen, device=gen.device)
    u = step_scale * torch.rand(n_new, 1, generator=gen, device=gen.device)
    return codes[base] + u * steps[pick], base


#: A pixel is foreground above this value of [-1, 1] (a tenth of the range).
FOREGROUND_LEVEL = -0.8


def foreground(x: torch.Tensor, margin: int) -> torch.Tensor:
    """(N, 1, H, W) mask, 1 on ``x``'s foreground grown by ``margin`` pixels, else 0.

    ``x`` is a batch of images in [-1, 1], (N, C, H, W).
    """
    fg = (x > FOREGROUND_LEVEL).any(dim=1, keepdim=True).to(x.dtype)
    if margin == 0:
        return fg
    return torch.nn.functional.max_pool2d(fg, 2 * margin + 1, stride=1, padding=margin)


@torch.no_grad()
def decode(
    decoder: Decoder,
    z: torch.Tensor,
    *,
    decoding: str = "direct",
    z_base: torch.Tensor | None = None,
    x_base: torch.Tensor | None = None,
    foreground_margin: int | None = None,
    batch_size: int = 512,
) -> torch.Tensor:
    """Decode codes in batches into images in [-1, 1].

    ``foreground_margin`` (residual decoding only): keep the change on the
    base image's foreground grown by that many pixels (:func:`foreground`).
    """
    if decoding not in DECODINGS:
        raise ValueError(f"decoding must be one of {DECODINGS}; got {decoding!r}.")
    if decoding == "residual" and (z_base is None or x_base is None):
        raise ValueError("residual decoding needs the base codes and the base images.")
    decoder.eval()
    out = []
    for s in range(0, z.shape[0], batch_size):
        img = decoder(z[s : s + batch_size]).float()
        if decoding == "residual" and z_base is not None and x_base is not None:
            base = x_base[s : s + batch_size]
            img = (base + img - decoder(z_base[s : s + batch_size]).float()).clamp_(-1.0, 1.0)
            if foreground_margin is not None:
                img = base + foreground(base, foreground_margin) * (img - base)
        out.append(img)
    if not out:
        cfg = decoder.cfg
        return z.new_zeros((0, cfg.channels, cfg.height, cfg.width))
    return torch.cat(out)


__all__ = ["DECODINGS", "FOREGROUND_LEVEL", "INTERPOLATIONS", "class_neighbours", "decode",
           "foreground", "interpolate", "neighbour_steps", "transfer"]
