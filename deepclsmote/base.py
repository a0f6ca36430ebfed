"""The template shared by the deep over-samplers.

imbalanced-learn's ``fit_resample`` template checks ``X, y`` through
:meth:`_check_X_y`, resolves ``sampling_strategy`` once into
``{class: n_new}`` and calls :meth:`_fit_resample`. Here ``_check_X_y``
accepts images in any supported layout instead of 2-D feature rows, and
``_fit_resample`` trains the autoencoder and oversamples in its latent space.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import numbers
import os
from collections.abc import Mapping

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import __version__, checkpoint, generation, recipes
from . import _validation as v
from .nn import AutoencoderConfig, build_autoencoder, default_latent_size
from .training import ResumeError, TrainConfig, TrainResult, train_autoencoder

logger = logging.getLogger(__name__)
_CODE_BATCH = 1024


class BaseDeepOverSampler(BaseOverSampler):
    """Shared machinery of :class:`DeepSMOTE` and :class:`DeepCLSMOTE`."""

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "k_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "dim_h": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_z": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "penalty": [StrOptions({"code", "paper"}), None],
        "w_penalty": [Interval(numbers.Real, 0, None, closed="left")],
        "decoding": [StrOptions(set(generation.DECODINGS))],
        "interpolation": [StrOptions(set(generation.INTERPOLATIONS))],
        "step_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "foreground_margin": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "train_shift": [Interval(numbers.Integral, 0, None, closed="left")],
        "device": [str, torch.device, None],
        "mixed_precision": ["boolean"],
        "fused_step": ["boolean"],
        "image_shape": [tuple, list, None],
        "pixel_range": [tuple, list, None],
        "callback": [callable, None],
        "checkpoint_path": [str, os.PathLike, None],
        "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
    }
    #: Parameters that are not saved with a model (they do not describe it).
    _unsaved_params = ("callback", "device", "checkpoint_path", "checkpoint_every")
    #: Parameters added after the first release, with the value that draws what earlier
    #: versions drew: saved only when set otherwise, so earlier versions load the model.
    _later_params = {"foreground_margin": None, "train_shift": 0, "fused_step": False}
    #: Concrete samplers by name, for loading saved models without pickle.
    _registry: dict[str, type] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        BaseDeepOverSampler._registry[cls.__name__] = cls

    # --- hooks of the concrete samplers -----------------------------------
    def _train_config(self) -> TrainConfig:
        raise NotImplementedError

    # --- imbalanced-learn template ----------------------------------------
    def _check_X_y(self, X, y, accept_sparse=None):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, spec = v.check_images(X, image_shape=self.image_shape, pixel_range=self.pixel_range)
        y = v.check_labels(y, X.shape[0])
        self.image_spec_ = spec
        return X, y, binarize_y

    def fit(self, X, y):
        """Train the autoencoder on images ``X`` with labels ``y``.

        Returns
        -------
        self : object
            The fitted sampler; :meth:`sample` and :meth:`encode` work after it.
        """
        self._validate_params()
        X, y, _ = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(
            self.sampling_strategy, y, self._sampling_type
        )
        self._fit(X, y)
        return self

    def _fit_resample(self, X, y):
        classes, counts = np.unique(y, return_counts=True)
        v.check_oversampling_feasible(dict(zip(classes.tolist(), counts.tolist(), strict=True)),
                                      self.sampling_strategy_, self.interpolation)
        self._fit(X, y)
        X_new, y_new = self._generate(self.sampling_strategy_, self._generation_seed())
        return np.concatenate([X, X_new]), np.concatenate([y, y_new.astype(y.dtype)])

    # --- training ---------------------------------------------------------
    def _generation_seed(self) -> int:
        """The seed of generation: the training seed's neighbour, so both follow
        ``random_state`` and ``fit_resample`` and ``sample`` agree."""
        return (self.seed_ + 1) % (2**63)

    def check_params(self):
        """Check the parameters without data, as ``fit`` would first; return ``self``.

        Raises ``ValueError`` or ``TypeError`` naming the parameter, so that a
        caller (a service queueing a job, say) can refuse a request at once.

        Examples
        --------
        >>> from deepclsmote import DeepCLSMOTE
        >>> DeepCLSMOTE(foreground_margin=2).check_params()
        Traceback (most recent call last):
        ...
        ValueError: foreground_margin keeps residual decoding's change ...
        """
        self._validate_params()
        self._check_decoding()
        return self

    def _check_decoding(self) -> None:
        """Refuse a ``foreground_margin`` without residual decoding (fit and generation)."""
        if self.foreground_margin is not None and self.decoding != "residual":
            raise ValueError("foreground_margin keeps residual decoding's change on the base "
                             f"image's foreground; it needs decoding='residual', got "
                             f"decoding={self.decoding!r}.")

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self._check_decoding()
        spec = self.image_spec_
        seed = None if self.random_state is None else v.resolve_seed(self.random_state)
        self.device_ = v.resolve_device(self.device)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y needs at least 2 classes; got only {self.classes_.tolist()}.")
        self.label_dtype_ = y.dtype.str if y.dtype != object else "object"
        self.autoencoder_config_ = AutoencoderConfig(
            spec.channels, spec.height, spec.width, self.dim_h,
            self.n_z or default_latent_size(spec.channels),
        )
        self._set_training_data(v.to_nchw(X, spec), y_idx)
        cfg = self._train_config()
        fingerprint = snapshot = None
        if self.checkpoint_path is not None:
            fingerprint = self._fingerprint(cfg, seed)
            saved = self._read_training_state(fingerprint)
            if saved is not None:
                seed, snapshot = saved
        self.seed_ = v.resolve_seed(None) if seed is None else seed
        logger.info("training %s on %d images of shape %s for %d epochs on %s",
                    type(self).__name__, len(y), spec.chw, self.epochs, self.device_)
        try:
            result = self._train(cfg, snapshot, fingerprint)
        except ResumeError as exc:
            logger.warning("Ignoring the training checkpoint %s and training from scratch: %s",
                           self.checkpoint_path, exc)
            result = self._train(cfg, None, fingerprint)
        self.history_ = result.history
        self.n_epochs_ = result.epochs_run
        self.resumed_from_epoch_ = result.start_epoch
        self.training_seconds_ = result.seconds
        self.codes_ = self._encode(self.images_)
        self.decoder_.eval()

    def _train(self, cfg: TrainConfig, snapshot: dict | None,
               fingerprint: dict | None) -> TrainResult:
        """Build the networks from ``seed_`` and train them, from ``snapshot`` if given."""
        self.encoder_, self.decoder_ = self._build_networks(self.seed_)
        gen = torch.Generator(device=self.device_).manual_seed(self.seed_)
        on_snapshot = None
        if fingerprint is not None:
            on_snapshot = functools.partial(checkpoint.save_training_state, self.checkpoint_path,
                                            {**fingerprint, "seed": self.seed_})
        if snapshot is not None:
            logger.info("resuming training from epoch %d of %d (checkpoint %s)",
                        snapshot.get("epoch"), cfg.epochs, self.checkpoint_path)
        return train_autoencoder(
            self.encoder_, self.decoder_, self.images_, self.labels_, len(self.classes_),
            cfg, gen, self.callback,
            state=snapshot, on_snapshot=on_snapshot, snapshot_every=self.checkpoint_every,
        )

    # --- training checkpoints -----------------------------------------------
    def _fingerprint(self, cfg: TrainConfig, seed: int | None) -> dict:
        """Plain values that identify a training run: a checkpoint of another run
        (other data, parameters, seed, device or library version) must not be resumed.
        ``seed`` is ``None`` when ``random_state`` is: then any seed matches."""
        digest = hashlib.sha256(self.images_.cpu().numpy().data)
        digest.update(self.labels_.cpu().numpy().data)
        fingerprint = {
            "library_version": __version__,
            "autoencoder": self.autoencoder_config_.to_dict(),
            "train": dataclasses.asdict(cfg),
            "n_images": int(self.labels_.shape[0]),
            "classes": [str(c) for c in self.classes_.tolist()],
            "data_sha256": digest.hexdigest(),
            "device": self.device_.type,
            "seed": seed,
        }
        return json.loads(json.dumps(fingerprint, default=_plain))  # numpy scalars and tuples

    def _read_training_state(self, fingerprint: dict) -> tuple[int, dict] | None:
        """The seed and snapshot of the checkpoint file if it belongs to this run, else None."""
        path = self.checkpoint_path
        if not os.path.exists(path):
            return None
        try:
            saved, snapshot = checkpoint.load_training_state(path)
        except checkpoint.ModelFormatError as exc:
            logger.warning("Ignoring the training checkpoint and training from scratch: %s", exc)
            return None
        any_seed = fingerprint["seed"] is None and isinstance(saved.get("seed"), int)
        differ = sorted(
            k for k in fingerprint.keys() | saved.keys()
            if saved.get(k) != fingerprint.get(k) and not (k == "seed" and any_seed)
        )
        if differ:
            logger.warning("Ignoring the training checkpoint %s and training from scratch: it "
                           "belongs to another run (%s differ).", path, ", ".join(differ))
            return None
        return saved["seed"], snapshot

    def _build_networks(self, seed: int):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            enc, dec = build_autoencoder(self.autoencoder_config_)
        return enc.to(self.device_), dec.to(self.device_)

    def _set_training_data(self, raw: np.ndarray, y_idx: np.ndarray) -> None:
        """Keep the training images (exact, compact) and labels for generation."""
        store = raw.astype(np.uint8) if self.image_spec_.dtype == "uint8" else raw
        self._raw_images = torch.from_numpy(np.ascontiguousarray(store))
        scaled = v.scale_to_unit(raw.astype(np.float32), self.image_spec_)
        self.images_ = torch.from_numpy(scaled).to(self.device_)
        self.labels_ = torch.as_tensor(y_idx, dtype=torch.long, device=self.device_)

    @torch.no_grad()
    def _encode(self, images: torch.Tensor) -> torch.Tensor:
        self.encoder_.eval()
        return torch.cat([self.encoder_(b) for b in images.split(_CODE_BATCH)]).float()

    # --- generation -------------------------------------------------------
    def _class_counts(self) -> dict:
        counts = torch.bincount(self.labels_, minlength=len(self.classes_)).tolist()
        return dict(zip(self.classes_.tolist(), counts, strict=True))

    def _resolve_request(self, n_samples) -> dict:
        """``{class: n_new}`` from a dict of counts or a sampling strategy."""
        counts = self._class_counts()
        if isinstance(n_samples, Mapping):
            request = {}
            for cls, n in n_samples.items():
                if cls not in counts:
                    raise ValueError(
                        f"Class {cls!r} is not one of the fitted classes {list(counts)}."
                    )
                if not isinstance(n, numbers.Integral) or n < 0:
                    raise ValueError(
                        f"The number of images for class {cls!r} must be a non-negative "
                        f"integer; got {n!r}."
                    )
                request[cls] = int(n)
            return request
        y = np.repeat(self.classes_, list(counts.values()))
        return check_sampling_strategy(n_samples, y, self._sampling_type)

    def _generate(self, request: dict, seed: int):
        self._validate_params()     # set_params or a loaded config may have changed them
        self._check_decoding()
        counts = self._class_counts()
        v.check_oversampling_feasible(counts, request, self.interpolation)
        gen = torch.Generator(device=self.device_).manual_seed(seed)
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        steps = None
        if self.interpolation == "transfer" and any(request.values()):
            steps = generation.neighbour_steps(self.codes_, self.labels_)
        images, labels = [], []
        for cls, n_new in request.items():
            if n_new == 0:
                continue
            members = torch.nonzero(self.labels_ == index[cls]).flatten()
            if steps is not None:
                z, base = generation.transfer(self.codes_[members], steps, n_new, gen,
                                              self.step_scale)
            else:
                k = v.effective_k(self.k_neighbors, members.numel(), cls)
                z, base = generation.interpolate(self.codes_[members], k, n_new, gen,
                                                 self.step_scale)
            residual = self.decoding == "residual"
            x = generation.decode(
                self.decoder_, z, decoding=self.decoding,
                z_base=self.codes_[members][base] if residual else None,
                x_base=self.images_[members][base] if residual else None,
                foreground_margin=self.foreground_margin if residual else None,
            )
            images.append(x.cpu().numpy())
            labels.append(np.full(n_new, cls, dtype=self.classes_.dtype))
        spec = self.image_spec_
        if not images:
            empty = np.zeros((0, spec.channels, spec.height, spec.width), np.float32)
            return v.from_nchw(empty, spec), np.zeros(0, dtype=self.classes_.dtype)
        X = v.from_nchw(v.scale_from_unit(np.concatenate(images), spec), spec)
        return X, np.concatenate(labels)

    def sample(self, n_samples="auto", *, random_state=None):
        """Synthetic images only, from the fitted model.

        Parameters
        ----------
        n_samples : dict or sampling strategy, default="auto"
            A dict ``{class: number of new images}``, or any value of
            ``sampling_strategy`` (``"auto"``, ``"minority"``, a float, a
            callable...), resolved against the training class counts: then the
            new images are those that would balance the training set.
        random_state : int, RandomState or None
            Seed of the generation. ``None`` uses the sampler's own seed, so that
            ``fit_resample`` and ``sample`` with the same request agree.

        Returns
        -------
        X_new, y_new : ndarray
            Images in the layout, range and dtype of the training images, and
            their labels.
        """
        check_is_fitted(self, "codes_")
        request = self._resolve_request(n_samples)
        seed = self._generation_seed() if random_state is None else v.resolve_seed(random_state)
        return self._generate(request, seed)

    def training_data(self):
        """The images the model was trained on, in their input layout, range and dtype, and
        their labels: what :mod:`deepclsmote.quality` sets the synthetic images against.

        Returns
        -------
        X, y : ndarray
        """
        check_is_fitted(self, "codes_")
        X = v.from_nchw(self._raw_images.cpu().numpy().astype(np.float32), self.image_spec_)
        return X, self.classes_[self.labels_.cpu().numpy()]

    def encode(self, X):
        """Latent codes ``(N, n_z)`` of images shaped like the training images.

        Named ``encode`` rather than ``transform`` on purpose: imbalanced-learn's
        ``Pipeline`` refuses a step that has both ``fit_resample`` and
        ``transform``, and the samplers must work in a pipeline.
        """
        check_is_fitted(self, "codes_")
        raw = v.check_images_like(X, self.image_spec_)
        scaled = torch.from_numpy(v.scale_to_unit(raw, self.image_spec_)).to(self.device_)
        return self._encode(scaled).cpu().numpy()

    # --- persistence ------------------------------------------------------
    def save(self, path):
        """Save the fitted model into directory ``path``; see :func:`load`."""
        check_is_fitted(self, "codes_")
        params = {k: val for k, val in self.get_params().items() if k not in self._unsaved_params
                  and not (k in self._later_params and val == self._later_params[k])}
        params["random_state"] = self.seed_
        if isinstance(params["sampling_strategy"], Mapping):
            params["sampling_strategy"] = "auto"  # keys may not survive JSON; strategy is resolved
        elif callable(params["sampling_strategy"]):
            params["sampling_strategy"] = "auto"
        config = {
            "library_version": __version__,
            "estimator": type(self).__name__,
            "params": params,
            "recipe": recipes.describe(type(self).__name__, params,
                                       name=getattr(self, "_recipe", None)),
            "image_spec": self.image_spec_.to_dict(),
            "autoencoder": self.autoencoder_config_.to_dict(),
            "classes": self.classes_.tolist(),
            "label_dtype": self.label_dtype_,
            "class_counts": list(self._class_counts().values()),
            "latent_stats": self._latent_stats(),
            "history": self.history_,
            "n_epochs": self.n_epochs_,
        }
        tensors = {
            "encoder": self.encoder_.state_dict(),
            "decoder": self.decoder_.state_dict(),
            "codes": self.codes_.cpu(),
            "labels": self.labels_.cpu(),
            "images": self._raw_images,
        }
        return checkpoint.save_model(path, config, tensors)

    def _latent_stats(self) -> list[dict]:
        stats = []
        for i, cls in enumerate(self.classes_.tolist()):
            z = self.codes_[self.labels_ == i]
            centre = z.mean(0)
            stats.append({
                "class": cls,
                "count": int(z.shape[0]),
                "centroid_norm": float(centre.norm()),
                "rms_spread": float((z - centre).pow(2).sum(1).mean().sqrt()),
            })
        return stats

    @classmethod
    def load(cls, path, *, device="auto"):
        """Load a model saved with :meth:`save`; never unpickles arbitrary objects.

        ``DeepCLSMOTE.load`` refuses a saved ``DeepSMOTE`` and vice versa;
        :func:`deepclsmote.load` takes either.
        """
        config, tensors = checkpoint.load_model(path, map_location="cpu")
        est = BaseDeepOverSampler._registry.get(config["estimator"])
        if est is None or not issubclass(est, cls):
            raise checkpoint.ModelFormatError(
                f"{path} holds a {config['estimator']!r} model, not a {cls.__name__}."
            )
        return est._from_checkpoint(config, tensors, device)

    @classmethod
    def _from_checkpoint(cls, config: dict, tensors: dict, device):
        sampler = cls(**config["params"], device=device)
        # a model saved before recipes is described by the recipe nearest its parameters
        sampler._recipe = (config.get("recipe") or {}).get("name")
        sampler.seed_ = config["params"]["random_state"]
        sampler.device_ = v.resolve_device(device)
        sampler.image_spec_ = v.ImageSpec.from_dict(config["image_spec"])
        sampler.autoencoder_config_ = AutoencoderConfig(**config["autoencoder"])
        dtype = np.dtype(object if config["label_dtype"] == "object" else config["label_dtype"])
        sampler.classes_ = np.asarray(config["classes"], dtype=dtype)
        sampler.label_dtype_ = config["label_dtype"]
        sampler.encoder_, sampler.decoder_ = sampler._build_networks(sampler.seed_)
        sampler.encoder_.load_state_dict(tensors["encoder"])
        sampler.decoder_.load_state_dict(tensors["decoder"])
        raw = tensors["images"].cpu().numpy()
        sampler._set_training_data(raw.astype(np.float32), tensors["labels"].cpu().numpy())
        sampler.codes_ = tensors["codes"].to(sampler.device_)
        sampler.history_ = config.get("history", [])
        sampler.n_epochs_ = config.get("n_epochs", len(sampler.history_))
        return sampler

    def _more_tags(self):  # scikit-learn < 1.6
        return {"X_types": ["3darray", "2darray"], "allow_nan": False}


def _plain(value):
    """A JSON value for a numpy scalar (``json.dumps``'s fallback)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not a plain value.")
