"""The public over-samplers: :class:`DeepSMOTE` and :class:`DeepCLSMOTE`."""

from __future__ import annotations

import numbers

from sklearn.utils._param_validation import Interval, StrOptions

from .base import BaseDeepOverSampler
from .training import TrainConfig

_SHARED_PARAMS_DOC = """
    sampling_strategy : float, str, dict or callable, default="auto"
        What to oversample, with imbalanced-learn's semantics: ``"auto"``
        (= ``"not majority"``), ``"minority"``, ``"not minority"``,
        ``"not majority"``, ``"all"``, a dict ``{class: target count}``, a
        float (binary problems: minority/majority ratio after resampling) or a
        callable ``y -> dict``.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, batches and generation. The same seed
        and data give identical output on the CPU.
    k_neighbors : int, default=5
        Neighbours within a class for latent SMOTE. A class with fewer than
        ``k_neighbors + 1`` images uses ``size - 1`` neighbours and a
        ``UserWarning`` says so; a class with one image cannot be oversampled
        and raises ``ValueError``. Unused with ``interpolation="transfer"``.
    epochs, batch_size, lr : int, int, float, default=50, 100, 2e-4
        Adam training of the autoencoder (DeepSMOTE's batch size and rate).
    dim_h : int, default=64
        Width of the first convolution; the stages double it.
    n_z : int or None, default=None
        Latent size; ``None`` means the paper's 300 for grey and 600 for
        colour images.
    penalty : {"code", "paper"} or None, default="code"
        DeepSMOTE's permutation penalty: ``"code"`` as in the official code
        (codes detached, targets permuted like the codes), ``"paper"`` as in
        Algorithm 1 (targets not permuted), ``None`` for none.
    w_penalty : float, default=1.0
        Weight of the penalty.
    decoding : {"direct", "residual"}, default="direct"
        ``"direct"`` decodes the new code (DeepSMOTE); ``"residual"`` adds the
        decoded change ``D(z) - D(z_base)`` to the real base image.
    interpolation : {"smote", "transfer"}, default="smote"
        How a new code leaves its real base code ``z_base`` (``u ~ U(0, 1)``).
        ``"smote"`` (DeepSMOTE) moves it toward one of its ``k_neighbors``
        nearest codes of the same class. ``"transfer"`` moves it by ``u``
        times the step from a training code of any class to its nearest
        neighbour of that class: the variation the large classes show is lent
        to the small ones, whose few images offer little of their own; a class
        of a single image can grow too.
        Measured on MNIST and Fashion-MNIST in ``bench/bench_generation.py``
        and ``docs/results.md``; use it with ``decoding="residual"``.
    step_scale : float, default=1.0
        ``u ~ U(0, step_scale)``. 1 is SMOTE's and DeepSMOTE's segment; above
        1 a SMOTE code may pass its neighbour and a transfer step is taken up
        to ``step_scale`` times. ``interpolation="transfer"`` with 1.5 was the
        measured best on MNIST and Fashion-MNIST (``docs/results.md``).
    foreground_margin : int or None, default=None
        With ``decoding="residual"``: keep the decoded change only on the base
        image's foreground (pixels above a tenth of the pixel range) grown by
        this many pixels, so that new images of objects on a dark background
        (Fashion-MNIST, MNIST) gain no speckle around the object. ``None``
        keeps the change everywhere. Needs ``decoding="residual"``.
    train_shift : int, default=0
        Shift each training image of the autoencoder by a random whole number
        of pixels, up to this many along each axis, at every step (the
        uncovered border is the darkest pixel value). 0 trains on the images
        as they are (DeepSMOTE). Codes, and residual decoding's base images,
        are always those of the unshifted images.
    device : str, torch.device or None, default="auto"
        ``"auto"`` picks CUDA when available, else the CPU.
    mixed_precision : bool, default=False
        bf16 autocast during training on CUDA (ignored on the CPU).
    fused_step : bool, default=False
        Make each training step's network passes in one go: one encoder pass
        over the batch and the class-balanced batch, one decoder pass for the
        reconstruction and DeepSMOTE's penalty. Fewer, larger kernels, for a
        GPU; BatchNorm then normalises over both batches together, so the
        training differs slightly from the unfused step's. Off by default
        until its speed and the generated data's quality are measured on a
        GPU (``docs/benchmarks.md``).
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened rows (2-D ``X``); ``None``
        guesses a square grey, then a square RGB image.
    pixel_range : tuple or None, default=None
        ``(low, high)`` of the pixels. ``None``: (0, 255) for uint8, else
        (0, 1) or (-1, 1) when the data fits, else the data's min and max.
        Outputs come back in this range and in the input's dtype.
    callback : callable or None, default=None
        ``callback(epoch, epochs, parts)`` after each epoch, ``parts`` the mean
        loss parts (``loss``, ``recon``, ``penalty``, ``compact``,
        ``separation``). Returning ``False`` stops training cleanly.
    checkpoint_path : str, path-like or None, default=None
        A file where training saves its state every ``checkpoint_every``
        epochs (atomically). If the file exists when ``fit`` starts and was
        written by the same run (data, parameters, seed, device, library
        version; with ``random_state=None`` its seed is taken), training
        resumes from it and ends exactly as if never interrupted; any other
        file is ignored with a logged warning and overwritten. The file is
        left in place after ``fit``.
    checkpoint_every : int, default=5
        Epochs between two saves of the training state.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    sampling_strategy_ : dict
        ``{class: number of new images}`` resolved by ``fit``/``fit_resample``.
    classes_ : ndarray
        The class labels, sorted.
    image_spec_ : ImageSpec
        Layout, shape, dtype and pixel range of the training images.
    encoder_, decoder_ : torch.nn.Module
        The trained networks.
    codes_ : torch.Tensor
        Latent codes of the training images.
    history_ : list of dict
        Mean loss parts per epoch.
    n_epochs_ : int
        Epochs actually run (fewer when the callback stopped training).
    resumed_from_epoch_ : int
        Epochs restored from ``checkpoint_path`` (0 when training started fresh).
    device_ : torch.device
        Where the networks live.
"""


class DeepCLSMOTE(BaseDeepOverSampler):
    __doc__ = f"""DeepSMOTE with a class-latent term (Homjandee and Sinapiromsaran, 2025).

    Trains DeepSMOTE's autoencoder with two more terms on standardised codes:
    ``compact`` pulls each class's codes to its centroid, ``separation`` pushes
    centroids of different classes apart (inverse mean squared distance), so
    that SMOTE interpolates inside clean class regions. With
    ``w_compact = w_separation = 0`` it is exactly :class:`DeepSMOTE`.

    The defaults are the method as published. For your data, prefer
    ``deepclsmote.make_sampler("recommended")``: the same class with
    ``decoding="residual"``, ``interpolation="transfer"`` and
    ``step_scale=1.5``. Measured against random oversampling with an
    augmented classifier (``docs/results.md``), the published method falls
    behind it, while the recommended recipe, whose new images start from
    real ones and borrow the variation of every class, is level with it or
    ahead.

    Parameters
    ----------{_SHARED_PARAMS_DOC}
    w_compact : float, default=0.02
        Weight of the pull of codes to their class centroid.
    w_separation : float, default=0.02
        Weight of the push between class centroids. The defaults were chosen
        on MNIST (``bench/bench_latent.py``, ``docs/results.md``): they raise
        the class silhouette of held-out codes several-fold for about a tenth
        more held-out reconstruction error; heavier weights cluster more and
        reconstruct worse.
    centroids : {{"batch", "ema"}}, default="batch"
        Plain class means of the class-balanced batch, or centroids kept
        across batches as an exponential moving average. With balanced
        batches every class is in every batch, and batch means measured
        better than the moving average on held-out codes.
    centroid_momentum : float, default=0.9
        Momentum of the moving average.
    separation_eps : float, default=0.1
        The epsilon of the inverse distance.
    balanced_batches : bool, default=True
        Compute the class-latent term on an extra class-balanced batch, so
        rare classes (one image per batch or none) are pulled at every step.
    {_ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from deepclsmote import DeepCLSMOTE
    >>> X, y = load_digits(return_X_y=True)
    >>> keep = (y != 9) | (np.arange(len(y)) % 10 == 0)
    >>> sampler = DeepCLSMOTE(epochs=2, dim_h=8, n_z=16, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X[keep].reshape(-1, 8, 8), y[keep])
    >>> int((y_res == 9).sum()) == int((y_res == 0).sum())
    True
    """

    _parameter_constraints: dict = {
        **BaseDeepOverSampler._parameter_constraints,
        "w_compact": [Interval(numbers.Real, 0, None, closed="left")],
        "w_separation": [Interval(numbers.Real, 0, None, closed="left")],
        "centroids": [StrOptions({"ema", "batch"})],
        "centroid_momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "separation_eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "balanced_batches": ["boolean"],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=5,
        epochs=50,
        batch_size=100,
        lr=2e-4,
        dim_h=64,
        n_z=None,
        penalty="code",
        w_penalty=1.0,
        w_compact=0.02,
        w_separation=0.02,
        centroids="batch",
        centroid_momentum=0.9,
        separation_eps=0.1,
        balanced_batches=True,
        decoding="direct",
        interpolation="smote",
        step_scale=1.0,
        foreground_margin=None,
        train_shift=0,
        device="auto",
        mixed_precision=False,
        fused_step=False,
        image_shape=None,
        pixel_range=None,
        callback=None,
        checkpoint_path=None,
        checkpoint_every=5,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.dim_h = dim_h
        self.n_z = n_z
        self.penalty = penalty
        self.w_penalty = w_penalty
        self.w_compact = w_compact
        self.w_separation = w_separation
        self.centroids = centroids
        self.centroid_momentum = centroid_momentum
        self.separation_eps = separation_eps
        self.balanced_batches = balanced_batches
        self.decoding = decoding
        self.interpolation = interpolation
        self.step_scale = step_scale
        self.foreground_margin = foreground_margin
        self.train_shift = train_shift
        self.device = device
        self.mixed_precision = mixed_precision
        self.fused_step = fused_step
        self.image_shape = image_shape
        self.pixel_range = pixel_range
        self.callback = callback
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            penalty=self.penalty, w_penalty=self.w_penalty,
            w_compact=self.w_compact, w_separation=self.w_separation,
            centroids=self.centroids, centroid_momentum=self.centroid_momentum,
            separation_eps=self.separation_eps, balanced_batches=self.balanced_batches,
            mixed_precision=self.mixed_precision, shift=self.train_shift,
            fused_step=self.fused_step,
        )


class DeepSMOTE(BaseDeepOverSampler):
    __doc__ = f"""DeepSMOTE (Dablain, Krawczyk and Chawla, IEEE TNNLS 2022).

    Trains a convolutional autoencoder with a reconstruction loss and a
    permutation penalty, then oversamples each class with SMOTE in the
    latent space and decodes the new codes into images.

    The defaults are the method as published. For your data, prefer
    ``deepclsmote.make_sampler("recommended")`` (DeepCLSMOTE with residual
    decoding and transfer steps): measured against random oversampling with
    an augmented classifier (``docs/results.md``), the published method falls
    behind it and the recommended recipe is level with it or ahead.

    Parameters
    ----------{_SHARED_PARAMS_DOC}
    {_ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from deepclsmote import DeepSMOTE
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(30, 8, 8), dtype=np.uint8)
    >>> y = np.array([0] * 20 + [1] * 10)
    >>> X_res, y_res = DeepSMOTE(epochs=1, dim_h=4, n_z=8, random_state=0).fit_resample(X, y)
    >>> X_res.shape, X_res.dtype.name
    ((40, 8, 8), 'uint8')
    """

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=5,
        epochs=50,
        batch_size=100,
        lr=2e-4,
        dim_h=64,
        n_z=None,
        penalty="code",
        w_penalty=1.0,
        decoding="direct",
        interpolation="smote",
        step_scale=1.0,
        foreground_margin=None,
        train_shift=0,
        device="auto",
        mixed_precision=False,
        fused_step=False,
        image_shape=None,
        pixel_range=None,
        callback=None,
        checkpoint_path=None,
        checkpoint_every=5,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.dim_h = dim_h
        self.n_z = n_z
        self.penalty = penalty
        self.w_penalty = w_penalty
        self.decoding = decoding
        self.interpolation = interpolation
        self.step_scale = step_scale
        self.foreground_margin = foreground_margin
        self.train_shift = train_shift
        self.device = device
        self.mixed_precision = mixed_precision
        self.fused_step = fused_step
        self.image_shape = image_shape
        self.pixel_range = pixel_range
        self.callback = callback
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            penalty=self.penalty, w_penalty=self.w_penalty,
            mixed_precision=self.mixed_precision, shift=self.train_shift,
            fused_step=self.fused_step,
        )


def load(path, *, device="auto") -> BaseDeepOverSampler:
    """Load a model saved with ``save`` (DeepSMOTE or DeepCLSMOTE).

    The weights are read with ``torch.load(weights_only=True)``: loading never
    unpickles arbitrary objects.

    Examples
    --------
    >>> sampler = load("model_dir")  # doctest: +SKIP
    >>> X_new, y_new = sampler.sample({7: 500})  # doctest: +SKIP
    """
    return BaseDeepOverSampler.load(path, device=device)


__all__ = ["DeepCLSMOTE", "DeepSMOTE", "load"]
