"""The classifiers that score oversampled training sets, and their one training loop.

Two networks: :class:`SimpleCNN`, the DeepCLSMOTE notebook's baseline, and
:func:`resnet18_small`, torchvision's ResNet-18 adapted to small images as in
DeepSMOTE's evaluation. :func:`train_classifier` trains either with Adam on
uint8 images as the dataset loaders return them; the whole training set lives
on the device as one uint8 tensor and batches are index tensors into it.

All randomness (weights, batches, augmentation, dropout) comes from
``random_state``: a local ``torch.Generator`` draws batches and shifts, and
the global generators, seeded for initialisation and dropout, are restored
afterwards by :func:`torch.random.fork_rng`.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18

from .._validation import resolve_device, resolve_seed
from ..training import shift_batch

logger = logging.getLogger(__name__)

MODELS = ("simple_cnn", "resnet18")
EpochCallback = Callable[[int, int, float], "bool | None"]


class SimpleCNN(nn.Module):
    """Two 3x3 convolution blocks (32 and 64 filters) and a dropout head.

    Conv 3x3 -> ReLU -> MaxPool 2, twice, then Flatten -> Linear(., 128) ->
    ReLU -> Dropout(0.5) -> Linear(128, n_classes). The convolutions pad by one
    pixel (Keras' ``"same"``), so 8x8 images still leave a 2x2 map; the
    flattened size is ``64 * (H // 4) * (W // 4)``.

    Parameters
    ----------
    in_channels : int
        1 for grey, 3 for colour images.
    n_classes : int
    image_size : int or (int, int)
        Side, or (height, width), of the images; at least 4.

    Examples
    --------
    >>> net = SimpleCNN(1, 10, 28)
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels: int, n_classes: int, image_size: int | tuple[int, int]):
        super().__init__()
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        if min(h, w) < 4:
            raise ValueError(f"image_size must be at least 4 pixels; got {image_size!r}.")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * (h // 4) * (w // 4), 128), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(128, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def resnet18_small(in_channels: int, n_classes: int) -> nn.Module:
    """torchvision's ResNet-18 (untrained) for small images.

    The stem is a 3x3 stride-1 convolution taking ``in_channels`` and the
    max-pool is removed, so a 32x32 image reaches the last stage as 4x4; the
    final layer has ``n_classes`` outputs. No weights are downloaded.

    Examples
    --------
    >>> net = resnet18_small(3, 10)
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    net = resnet18(weights=None, num_classes=n_classes)
    net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.maxpool = nn.Identity()
    return net


def build_classifier(
    model_name: str, *, in_channels: int, n_classes: int, image_size: tuple[int, int]
) -> nn.Module:
    """The network called ``model_name`` (one of :data:`MODELS`), freshly initialised."""
    if model_name == "simple_cnn":
        return SimpleCNN(in_channels, n_classes, image_size)
    if model_name == "resnet18":
        return resnet18_small(in_channels, n_classes)
    raise ValueError(f"model_name must be one of {list(MODELS)}; got {model_name!r}.")


#: Learning-rate schedules of :class:`TrainSpec`.
LR_SCHEDULES = ("constant", "cosine")


def check_lr_schedule(name) -> str:
    """``name`` if it is one of :data:`LR_SCHEDULES`, else a ValueError naming them."""
    if name not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {list(LR_SCHEDULES)}; got {name!r}.")
    return name


@dataclass(frozen=True)
class TrainSpec:
    """How to train a classifier.

    Parameters
    ----------
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam training; batches of one image are skipped.
    augment : bool, default=False
        Random shifts of up to ``max_shift`` pixels (zero padded) per image.
    max_shift : int, default=2
    hflip : bool, default=False
        With ``augment``, also flip half the images left-right (not for digits).
    steps : int or None, default=None
        Run exactly this many optimiser steps instead of ``epochs`` epochs, so
        that training sets of different sizes get the same number of updates.
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"cosine"`` anneals the learning rate from ``lr`` to 0 over the run's
        optimiser steps (``torch.optim.lr_scheduler.CosineAnnealingLR``), so
        the last steps settle instead of leaving the weights where one batch
        threw them.
    device : str, torch.device or None, default="auto"
        ``"auto"`` picks CUDA when available.

    Examples
    --------
    >>> TrainSpec(epochs=5, augment=True).max_shift
    2
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    augment: bool = False
    max_shift: int = 2
    hflip: bool = False
    steps: int | None = None
    lr_schedule: str = "constant"
    device: str | torch.device | None = "auto"

    def __post_init__(self) -> None:
        for name, low in (("epochs", 1), ("batch_size", 2), ("max_shift", 0)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an int of at least {low}; got {value!r}.")
        if self.steps is not None and (not isinstance(self.steps, numbers.Integral)
                                       or self.steps < 1):
            raise ValueError(f"steps must be a positive int or None; got {self.steps!r}.")
        check_lr_schedule(self.lr_schedule)
        if not self.lr > 0 or not self.weight_decay >= 0:
            raise ValueError(
                f"lr must be positive and weight_decay non-negative; got lr={self.lr!r}, "
                f"weight_decay={self.weight_decay!r}."
            )


def augment_batch(
    x: torch.Tensor, *, max_shift: int = 2, hflip: bool = False, generator: torch.Generator
) -> torch.Tensor:
    """Shift each image of an NCHW batch by up to ``max_shift`` pixels, maybe flip it.

    Shifts are drawn per image and axis from ``-max_shift .. max_shift``; the
    uncovered border is zero. With ``hflip`` half the images (on average) are
    mirrored left-right. Shape and dtype are kept; ``generator`` must live on
    ``x``'s device.

    Examples
    --------
    >>> gen = torch.Generator().manual_seed(0)
    >>> augment_batch(torch.ones(4, 1, 8, 8), max_shift=2, generator=gen).shape
    torch.Size([4, 1, 8, 8])
    """
    out = shift_batch(x, max_shift, generator, fill=0.0)
    if hflip:
        flip = torch.rand(x.shape[0], generator=generator, device=x.device) < 0.5
        out = torch.where(flip[:, None, None, None], out.flip(-1), out)
    return out


def train_classifier(
    model_name: str,
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    spec: TrainSpec,
    *,
    random_state,
    callback: EpochCallback | None = None,
) -> nn.Module:
    """Train a fresh ``model_name`` network on uint8 images ``X`` with labels ``y``.

    Parameters
    ----------
    model_name : {"simple_cnn", "resnet18"}
    X : ndarray of uint8, shape (N, H, W) or (N, H, W, 3)
    y : array of int, shape (N,)
        Class indices ``0 .. n_classes - 1``.
    n_classes : int
    spec : TrainSpec
    random_state : int, RandomState or None
        Seeds weights, batches, augmentation and dropout; the same seed and
        data give identical weights on the CPU. The global RNGs are untouched.
    callback : callable or None, default=None
        ``callback(epoch, epochs, loss)`` after each epoch with its mean
        loss; returning ``False`` stops training.

    Returns
    -------
    torch.nn.Module
        The trained network in eval mode, on ``spec.device``.

    Examples
    --------
    >>> from deepclsmote.datasets import load_digits
    >>> ds = load_digits()
    >>> net = train_classifier("simple_cnn", ds.images, ds.labels, 10,
    ...                        TrainSpec(epochs=1, device="cpu"), random_state=0)
    >>> predict(net, ds.images[:3]).shape
    (3,)
    """
    images = images_to_tensor(X)
    labels = _check_targets(y, len(images), n_classes)
    device = resolve_device(spec.device)
    seed = resolve_seed(random_state)
    cuda: list[int] = []
    if device.type == "cuda":
        cuda = [device.index if device.index is not None else torch.cuda.current_device()]
    start = time.perf_counter()
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        for index in cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        model = build_classifier(model_name, in_channels=images.shape[1], n_classes=n_classes,
                                 image_size=(images.shape[2], images.shape[3])).to(device)
        gen = torch.Generator(device=device).manual_seed(seed)
        steps = _fit(model, images.to(device), labels.to(device), spec, gen, callback)
    logger.info("trained %s on %d images (%s) for %d steps in %.1fs on %s", model_name,
                len(labels), tuple(images.shape[1:]), steps, time.perf_counter() - start, device)
    return model.eval()


def _steps_per_epoch(n: int, batch_size: int) -> int:
    """Optimiser steps of one epoch over ``n`` images (a last batch of one is skipped)."""
    return n // batch_size + (n % batch_size >= 2)


def _planned_steps(n: int, spec: TrainSpec) -> int:
    """Optimiser steps :func:`train_classifier` takes over ``n`` images under ``spec``."""
    return spec.steps if spec.steps is not None else spec.epochs * _steps_per_epoch(
        n, spec.batch_size)


def _fit(model, X, y, spec: TrainSpec, gen, callback) -> int:
    """The training loop; returns the number of optimiser steps taken."""
    optim = torch.optim.Adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    n = len(y)
    per_epoch = _steps_per_epoch(n, spec.batch_size)
    epochs = spec.epochs if spec.steps is None else math.ceil(spec.steps / per_epoch)
    schedule = None
    if spec.lr_schedule == "cosine":
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optim, T_max=max(1, _planned_steps(n, spec)))
    step = 0
    model.train()
    for epoch in range(epochs):
        loss_sum = torch.zeros((), device=X.device)
        taken = 0
        for batch in torch.randperm(n, generator=gen, device=gen.device).split(spec.batch_size):
            if spec.steps is not None and step >= spec.steps:
                break
            if batch.numel() < 2:
                continue
            xb = X[batch].float().div_(255.0)
            if spec.augment:
                xb = augment_batch(xb, max_shift=spec.max_shift, hflip=spec.hflip, generator=gen)
            loss = F.cross_entropy(model(xb), y[batch])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            if schedule is not None:
                schedule.step()
            loss_sum += loss.detach()
            taken += 1
            step += 1
        mean = (loss_sum / max(taken, 1)).item()
        logger.debug("epoch %d/%d loss %.4f", epoch + 1, epochs, mean)
        if callback is not None and callback(epoch + 1, epochs, mean) is False:
            break
    return step


@torch.no_grad()
def predict(
    model: nn.Module, X: np.ndarray, *, device=None, batch_size: int = 1024
) -> np.ndarray:
    """Predicted class indices (int64) of uint8 images ``X``, in batches.

    ``device=None`` uses the model's device; another device moves the model
    there. The model is put in eval mode.

    Examples
    --------
    >>> net = SimpleCNN(1, 3, 8)
    >>> predict(net, np.zeros((5, 8, 8), np.uint8)).shape
    (5,)
    """
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
    if device is None:
        dev = next(model.parameters()).device
    else:
        dev = resolve_device(device)
        model.to(dev)
    model.eval()
    images = images_to_tensor(X)
    out = [model(b.to(dev).float().div_(255.0)).argmax(1).cpu()
           for b in images.split(batch_size)]
    if not out:
        return np.zeros(0, dtype=np.int64)
    return torch.cat(out).numpy().astype(np.int64)


def images_to_tensor(X: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W) or (N, H, W, 3) as a uint8 NCHW tensor on the CPU."""
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8:
        got = X.dtype if isinstance(X, np.ndarray) else type(X).__name__
        raise TypeError(f"X must be a uint8 array of images; got {got}.")
    if X.ndim == 3:
        X = X[:, None]
    elif X.ndim == 4 and X.shape[-1] == 3:
        X = X.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"X must have shape (N, H, W) or (N, H, W, 3); got {X.shape}.")
    return torch.from_numpy(np.ascontiguousarray(X))


def _check_targets(y, n: int, n_classes: int) -> torch.Tensor:
    if not isinstance(n_classes, numbers.Integral) or n_classes < 2:
        raise ValueError(f"n_classes must be an int of at least 2; got {n_classes!r}.")
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be {n} integer labels; got {y.dtype} {y.shape}.")
    if n < 2:
        raise ValueError(f"training needs at least 2 images; got {n}.")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"y must lie in 0..{n_classes - 1}; got values from {y.min()} to {y.max()}."
        )
    return torch.as_tensor(y, dtype=torch.long)


__all__ = [
    "MODELS",
    "SimpleCNN",
    "TrainSpec",
    "augment_batch",
    "build_classifier",
    "images_to_tensor",
    "predict",
    "resnet18_small",
    "train_classifier",
]
