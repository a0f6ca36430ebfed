"""The loss terms, as pure functions of tensors.

``L = recon + w_p * penalty + w_c * compact + w_s * separation``

``recon`` and ``penalty`` are DeepSMOTE's. ``compact`` and ``separation`` are
DeepCLSMOTE's class-latent term: pull each class's codes towards its centroid
and push the centroids of different classes apart through the inverse of
their mean squared distance.

The class-latent term is computed on *standardised* codes: the codes of the
batch are centred and divided by their root-mean-square spread. Both parts are
then invariant to the scale of the latent space, so the encoder cannot lower
the loss by inflating (or shrinking) its codes, which is what broke the plain
inverse distance on raw codes (the separation term rose from under 1 to about
500 and reconstruction collapsed). Distances are divided by ``n_z`` so the
weights mean the same thing for any latent size.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

PENALTY_MODES = ("code", "paper")


def reconstruction(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error between decoded and input images."""
    return F.mse_loss(x_hat, x)


def permutation_penalty(decoder, codes: torch.Tensor, images: torch.Tensor, mode: str):
    """DeepSMOTE's penalty on images of one class.

    The codes are permuted (a cyclic shift of a randomly drawn set), decoded,
    and compared with the images.

    - ``"code"``: the official code. The codes are detached and the targets
      are permuted like the codes.
    - ``"paper"``: Algorithm 1 of the paper. The targets stay in place, so
      each image is compared with the decoding of another image's code of
      the same class.
    """
    shifted, targets = permutation_pair(codes, images, mode)
    return F.mse_loss(decoder(shifted), targets)


def permutation_pair(codes: torch.Tensor, images: torch.Tensor, mode: str):
    """The codes the penalty decodes and the images it compares them with.

    Split from :func:`permutation_penalty` so that a training step can decode
    these codes in one pass with its batch's.
    """
    shifted = torch.roll(codes, shifts=-1, dims=0)
    if mode == "code":
        return shifted.detach(), torch.roll(images, shifts=-1, dims=0)
    if mode == "paper":
        return shifted, images
    raise ValueError(f"penalty must be one of {PENALTY_MODES} or None; got {mode!r}.")


def standardise(codes: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Centre the codes and divide by their RMS spread (one scalar per batch)."""
    centred = codes - codes.mean(dim=0, keepdim=True)
    return centred / torch.sqrt(centred.pow(2).mean() + eps)


def class_means(u: torch.Tensor, labels: torch.Tensor, n_classes: int):
    """Per-class means of ``u`` and a mask of the classes present.

    Counted with ``index_add_`` rather than ``bincount``, which waits for the
    device to learn its output's size: the training step never waits for a GPU.
    """
    sums = torch.zeros(n_classes, u.shape[1], device=u.device, dtype=u.dtype)
    sums.index_add_(0, labels, u)
    counts = torch.zeros(n_classes, device=u.device, dtype=u.dtype)
    counts.index_add_(0, labels, torch.ones_like(labels, dtype=u.dtype))
    present = counts > 0
    return sums / counts.clamp(min=1).unsqueeze(1), present


def compactness(u: torch.Tensor, labels: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of each code to its class centroid, per latent unit."""
    return (u - centroids[labels]).pow(2).sum(dim=1).mean() / u.shape[1]


def separation(centroids: torch.Tensor, present: torch.Tensor, eps: float) -> torch.Tensor:
    """Mean over pairs of distinct present classes of ``1 / (d^2 / n_z + eps)``.

    Zero when fewer than two classes are present. Absent classes are masked,
    not indexed away, so the result's shape never depends on the data and the
    device is never asked how many classes are present.
    """
    c = centroids
    # Explicit differences: cdist's gradient is NaN where two centroids meet.
    d2 = (c.unsqueeze(0) - c.unsqueeze(1)).pow(2).sum(dim=2) / c.shape[1]
    eye = torch.eye(c.shape[0], dtype=torch.bool, device=c.device)
    pairs = present.unsqueeze(0) & present.unsqueeze(1) & ~eye
    inverse = torch.where(pairs, 1.0 / (d2 + eps), torch.zeros_like(d2))
    return inverse.sum() / pairs.sum().clamp(min=1).to(inverse.dtype)


__all__ = [
    "PENALTY_MODES",
    "class_means",
    "compactness",
    "permutation_pair",
    "permutation_penalty",
    "reconstruction",
    "separation",
    "standardise",
]
