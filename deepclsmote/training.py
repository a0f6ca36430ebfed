"""The one training loop of the autoencoder (DeepSMOTE and DeepCLSMOTE alike).

The whole training set lives on the model's device as one tensor; batches are
index tensors into it, so no DataLoader or host-device copy sits on the hot
path. All randomness comes from one ``torch.Generator`` seeded by the caller.

A run can be snapshotted every few epochs (``on_snapshot``) and continued from
a snapshot (``state``): the snapshot holds the networks, the optimiser, the
generator and the class centroids, so the continued run is the uninterrupted
one, bit for bit on the CPU.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import losses
from .nn import Decoder, Encoder

logger = logging.getLogger(__name__)

LOSS_PARTS = ("loss", "recon", "penalty", "compact", "separation")
ProgressCallback = Callable[[int, int, dict], "bool | None"]
SnapshotCallback = Callable[[dict], object]  # the return value is ignored


class ResumeError(ValueError):
    """A training snapshot that does not fit the networks or configuration of a run."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 50
    batch_size: int = 100
    lr: float = 2e-4
    penalty: str | None = "code"
    w_penalty: float = 1.0
    w_compact: float = 0.0
    w_separation: float = 0.0
    centroids: str = "batch"
    centroid_momentum: float = 0.9
    separation_eps: float = 0.1
    balanced_batches: bool = True
    mixed_precision: bool = False
    shift: int = 0
    # One encoder pass over the batch and the class-balanced batch (and the
    # penalty batch, where its codes need gradients), one decoder pass for the
    # reconstruction and the penalty: fewer, larger kernels for a GPU. BatchNorm
    # then normalises over the images of both batches together.
    fused_step: bool = False

    @property
    def class_latent(self) -> bool:
        return self.w_compact > 0 or self.w_separation > 0

    @property
    def uses_penalty(self) -> bool:
        return self.penalty is not None and self.w_penalty > 0


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    start_epoch: int = 0  # epochs restored from a snapshot


class _ClassIndex:
    """Indices of each class's images, sorted by class, on the device."""

    def __init__(self, y: torch.Tensor, n_classes: int):
        self.order = torch.argsort(y, stable=True)
        self.counts = torch.bincount(y, minlength=n_classes)
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        counts = self.counts.tolist()
        # DeepSMOTE's penalty draws one class per step; BatchNorm needs two images.
        self.penalty_classes = torch.tensor(
            [k for k, n in enumerate(counts) if n >= 2], device=y.device
        )
        self._counts = counts

    def draw_penalty_classes(self, steps: int, gen: torch.Generator) -> list[int | None]:
        """The class of DeepSMOTE's penalty batch for each of an epoch's steps.

        Drawn for the whole epoch at once: the batch's size depends on the
        class, so the host must know it, and asking the device once an epoch
        instead of once a step keeps a GPU's queue full.
        """
        if not self.penalty_classes.numel():
            return [None] * steps
        pick = torch.randint(self.penalty_classes.numel(), (steps,), generator=gen,
                             device=gen.device)
        return self.penalty_classes[pick].tolist()

    def draw_class_batch(self, k: int, size: int, gen: torch.Generator) -> torch.Tensor:
        """Up to ``size`` images of class ``k``, without replacement."""
        n = self._counts[k]
        pick = torch.randperm(n, generator=gen, device=gen.device)[:size]
        return self.order[self.starts[k] + pick]

    def draw_balanced(self, per_class: int, gen: torch.Generator):
        """``per_class`` images of every class (with replacement): indices and labels."""
        k = self.counts.shape[0]
        u = torch.rand(k, per_class, generator=gen, device=gen.device)
        pos = self.starts.unsqueeze(1) + (u * self.counts.unsqueeze(1)).long()
        labels = torch.arange(k, device=gen.device).unsqueeze(1).expand(k, per_class).flatten()
        return self.order[pos.flatten()], labels


class _Centroids:
    """Class centroids of the standardised codes, kept across batches."""

    def __init__(self, n_classes: int, n_z: int, device, mode: str, momentum: float):
        self.mode, self.momentum = mode, momentum
        self.value = torch.zeros(n_classes, n_z, device=device)
        self.seen = torch.zeros(n_classes, dtype=torch.bool, device=device)

    def terms(self, codes: torch.Tensor, labels: torch.Tensor, eps: float):
        u = losses.standardise(codes.float())
        mu, present = losses.class_means(u, labels, self.value.shape[0])
        if self.mode == "batch":
            c, mask = mu, present
        else:
            new = present & ~self.seen
            self.value = torch.where(new.unsqueeze(1), mu.detach(), self.value)
            self.seen = self.seen | present
            m = self.momentum
            c = torch.where(present.unsqueeze(1), m * self.value + (1 - m) * mu, self.value)
            self.value = c.detach()
            mask = self.seen
        return losses.compactness(u, labels, c), losses.separation(c, mask, eps)


def train_autoencoder(
    encoder: Encoder,
    decoder: Decoder,
    X: torch.Tensor,
    y: torch.Tensor,
    n_classes: int,
    cfg: TrainConfig,
    gen: torch.Generator,
    callback: ProgressCallback | None = None,
    *,
    state: dict | None = None,
    on_snapshot: SnapshotCallback | None = None,
    snapshot_every: int = 1,
) -> TrainResult:
    """Train ``encoder``/``decoder`` in place on images ``X`` in [-1, 1].

    ``callback(epoch, epochs, parts)`` runs after each epoch with the mean of
    each loss part; returning ``False`` stops training cleanly after that
    epoch (the networks stay usable). ``epoch`` counts from the start of the
    whole run, restored epochs included.

    ``on_snapshot(snapshot)`` runs every ``snapshot_every`` epochs, before
    ``callback``. The snapshot is a dict of tensors and plain values (keys
    ``epoch``, ``history``, ``encoder``, ``decoder``, ``optimizer``,
    ``generator``, ``centroids``) that shares the live tensors: serialise it
    before returning. Passed back as ``state`` to a fresh run with the same
    networks, data, ``cfg`` and device, it continues training from there as if
    never interrupted. A ``state`` that does not fit raises
    :class:`ResumeError` before any step, possibly with the networks and
    ``gen`` partly overwritten.
    """
    if snapshot_every < 1:
        raise ValueError(f"snapshot_every must be at least 1; got {snapshot_every}.")
    device = X.device
    params = list(encoder.parameters()) + list(decoder.parameters())
    optim = torch.optim.Adam(params, lr=cfg.lr)
    index = _ClassIndex(y, n_classes)
    cents = _Centroids(
        n_classes, encoder.cfg.n_z, device, cfg.centroids, cfg.centroid_momentum
    )
    per_class = max(2, cfg.batch_size // n_classes)
    n = X.shape[0]
    amp = cfg.mixed_precision and device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    result = TrainResult()
    if state is not None:
        result.history = _restore(state, cfg, encoder, decoder, optim, gen, cents)
        result.start_epoch = result.epochs_run = len(result.history)
    start = time.perf_counter()
    encoder.train()
    decoder.train()
    for epoch in range(result.start_epoch, cfg.epochs):
        sums = torch.zeros(len(LOSS_PARTS), device=device)
        steps = 0
        perm = torch.randperm(n, generator=gen, device=device)
        # BatchNorm cannot train on a single image
        batches = [b for b in perm.split(cfg.batch_size) if b.numel() >= 2]
        penalty_classes = (index.draw_penalty_classes(len(batches), gen) if cfg.uses_penalty
                           else [None] * len(batches))
        for batch, penalty_class in zip(batches, penalty_classes, strict=True):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                parts = _step_losses(encoder, decoder, X, y, batch, index, cents, cfg, gen,
                                     per_class, penalty_class)
            loss = (
                parts[1]
                + cfg.w_penalty * parts[2]
                + cfg.w_compact * parts[3]
                + cfg.w_separation * parts[4]
            )
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            parts[0] = loss
            sums += torch.stack([p.detach().float() for p in parts])
            steps += 1
        epoch_parts = dict(zip(LOSS_PARTS, (sums / max(steps, 1)).tolist(), strict=True))
        result.history.append(epoch_parts)
        result.epochs_run = epoch + 1
        logger.debug("epoch %d/%d %s", epoch + 1, cfg.epochs, epoch_parts)
        if on_snapshot is not None and (epoch + 1) % snapshot_every == 0:
            on_snapshot(_snapshot(result.history, encoder, decoder, optim, gen, cents))
        if callback is not None and callback(epoch + 1, cfg.epochs, epoch_parts) is False:
            result.stopped_early = epoch + 1 < cfg.epochs
            break
    result.seconds = time.perf_counter() - start
    return result


def _snapshot(history, encoder, decoder, optim, gen, cents) -> dict:
    return {
        "epoch": len(history),
        "history": [dict(h) for h in history],
        "encoder": encoder.state_dict(),
        "decoder": decoder.state_dict(),
        "optimizer": optim.state_dict(),
        "generator": gen.get_state(),
        "centroids": {"value": cents.value, "seen": cents.seen},
    }


def _restore(state, cfg, encoder, decoder, optim, gen, cents) -> list[dict]:
    """Load a snapshot into the run's objects and return its history.

    Raises :class:`ResumeError` if the snapshot does not fit.
    """
    try:
        history = [dict(h) for h in state["history"]]
        value, seen = state["centroids"]["value"], state["centroids"]["seen"]
        if state["epoch"] != len(history) or not 0 <= len(history) <= cfg.epochs:
            raise ValueError(f"{state['epoch']} epochs done with {len(history)} in the history, "
                             f"of {cfg.epochs}")
        if value.shape != cents.value.shape or seen.shape != cents.seen.shape:
            raise ValueError(f"centroids of shape {tuple(value.shape)}, "
                             f"expected {tuple(cents.value.shape)}")
        encoder.load_state_dict(state["encoder"])
        decoder.load_state_dict(state["decoder"])
        optim.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
    except (KeyError, TypeError, AttributeError, ValueError, RuntimeError) as exc:
        raise ResumeError(f"the training snapshot does not fit this run: {exc}") from exc
    cents.value = value.to(cents.value)
    cents.seen = seen.to(device=cents.seen.device, dtype=torch.bool)
    return history


def shift_batch(x: torch.Tensor, max_shift: int, gen: torch.Generator,
                fill: float = -1.0) -> torch.Tensor:
    """Shift each image of an NCHW batch by up to ``max_shift`` pixels per axis.

    Shifts are drawn per image from ``-max_shift .. max_shift``; the uncovered
    border takes ``fill`` (by default the darkest value of images in [-1, 1]).
    ``gen`` must live on ``x``'s device. The autoencoder's ``train_shift`` and
    the classifier's augmentation both shift with it.
    """
    if max_shift <= 0:
        return x
    n, c, h, w = x.shape
    dev, s = x.device, max_shift
    padded = torch.nn.functional.pad(x, (s, s, s, s), value=fill)
    dy, dx = torch.randint(0, 2 * s + 1, (2, n), generator=gen, device=dev)
    rows = (dy[:, None] + torch.arange(h, device=dev))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=dev))[:, None, None, :]
    return padded[torch.arange(n, device=dev)[:, None, None, None],
                  torch.arange(c, device=dev)[None, :, None, None], rows, cols]


def _draw_inputs(X, batch, index, cfg, gen, per_class, penalty_class):
    """A step's images, every random draw made in one order whether fused or not.

    Returns the batch, DeepSMOTE's one-class penalty batch (or ``None``) and
    the class-balanced batch of the class-latent term with its labels (or
    ``None, None``).
    """
    xb = shift_batch(X[batch], cfg.shift, gen)
    xc = None
    if penalty_class is not None:
        xc = shift_batch(X[index.draw_class_batch(penalty_class, cfg.batch_size, gen)],
                         cfg.shift, gen)
    xbal = labels = None
    if cfg.class_latent and cfg.balanced_batches:
        idx, labels = index.draw_balanced(per_class, gen)
        xbal = shift_batch(X[idx], cfg.shift, gen)
    return xb, xc, xbal, labels


def _step_losses(encoder, decoder, X, y, batch, index, cents, cfg, gen, per_class,
                 penalty_class):
    """The loss parts of one step, with no host-device synchronisation."""
    xb, xc, xbal, labels = _draw_inputs(X, batch, index, cfg, gen, per_class, penalty_class)
    # The paper's penalty trains the encoder through the penalty batch's codes; the code's does not.
    penalty_grad = xc is not None and cfg.penalty != "code"
    if cfg.fused_step:
        together = [x for x in (xb, xc if penalty_grad else None, xbal) if x is not None]
        codes = list(encoder(torch.cat(together)).split([len(x) for x in together]))
        z = codes.pop(0)
        zc = codes.pop(0) if penalty_grad else None
        zbal = codes.pop(0) if xbal is not None else None
        if xc is not None and zc is None:
            with torch.no_grad():
                zc = encoder(xc)
        zero = penalty = z.new_zeros(())
        if xc is not None:
            shifted, targets = losses.permutation_pair(zc, xc, cfg.penalty)
            decoded = decoder(torch.cat([z, shifted])).split([len(z), len(shifted)])
            recon = losses.reconstruction(decoded[0], xb)
            penalty = losses.reconstruction(decoded[1], targets)
        else:
            recon = losses.reconstruction(decoder(z), xb)
    else:
        z = encoder(xb)
        zero = z.new_zeros(())
        recon = losses.reconstruction(decoder(z), xb)
        penalty = zero
        if xc is not None:
            if penalty_grad:
                zc = encoder(xc)
            else:
                with torch.no_grad():
                    zc = encoder(xc)
            penalty = losses.permutation_penalty(decoder, zc, xc, cfg.penalty)
        zbal = encoder(xbal) if xbal is not None else None
    compact = separation = zero
    if cfg.class_latent:
        if zbal is None:
            zbal, labels = z, y[batch]
        compact, separation = cents.terms(zbal, labels, cfg.separation_eps)
    return [zero, recon, penalty, compact, separation]


__all__ = [
    "LOSS_PARTS",
    "ProgressCallback",
    "ResumeError",
    "SnapshotCallback",
    "TrainConfig",
    "TrainResult",
    "shift_batch",
    "train_autoencoder",
]
