"""How good synthetic images are: fidelity, novelty, near-copies and diversity.

Every measure works on a class at a time, over ``(X_real, y_real, X_syn,
y_syn)``: images of one shape in any layout and pixel range (distances are
root-mean-square differences per pixel, in the images' own pixel units).

- **Fidelity**: the share of synthetic images that a classifier trained on the
  real images assigns to their intended class, beside that classifier's recall
  on real images it did not train on (:func:`fidelity_classifier`), so that
  the figure has a reference.
- **Novelty**: each synthetic image's distance to its nearest real image of its
  class, set against the distance of each real image to its nearest *other*
  real image of the class; in pixels, and in a latent space when an encoder is
  given.
- **Near-copies**: a synthetic image closer to a real image of its class than
  99 % of the real images are to their nearest other real image (the 1st
  percentile of the real nearest-neighbour distances; the pooled distances of
  every class for a class of one real image). Random oversampling repeats real
  images, so all of its new images are near-copies by construction.
- **Diversity**: the mean distance between two synthetic images of a class
  against the same among its real images, and exact duplicates (a synthetic
  image equal to another synthetic image, or to a real one).

Nearest neighbours are found in chunks, so memory stays bounded. Near-copies
are checked for every synthetic image; the real reference distribution and
the diversity measures use a seeded sample of at most ``max_reference``
images a class, and fidelity and latent novelty a seeded sample of at most
``max_measured`` synthetic images a class (each class's row says how many):
the classifier and the encoder are what a report's time goes to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import ImageSpec, to_nchw

#: A synthetic image is a near-copy below this quantile of the real nearest-neighbour distances.
NEAR_COPY_QUANTILE = 0.01
_CHUNK = 1024

NEAR_COPY_RULE = ("a synthetic image is a near-copy when its distance to the nearest real image "
                  "of its class is below the 1st percentile of the distances between each real "
                  "image of that class and its nearest other real image (so closer than 99 % of "
                  "real images are to each other); for a class with one real image, the "
                  "percentile of every class's distances pooled")


def as_uint8(X, spec: ImageSpec | None = None) -> np.ndarray:
    """Images as the classifiers take them, uint8 ``(N, H, W)`` or ``(N, H, W, 3)``, from
    images laid out and scaled as ``spec`` says (``None``: they already are)."""
    if spec is None:
        return np.asarray(X)
    unit = (to_nchw(np.asarray(X), spec) - spec.low) / (spec.high - spec.low)
    x = np.rint(np.clip(unit, 0.0, 1.0) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    return x[..., 0] if x.shape[-1] == 1 else x


def _flat(X) -> np.ndarray:
    X = np.asarray(X)
    return X.reshape(len(X), -1).astype(np.float32)


def nearest_distances(queries: np.ndarray, reference: np.ndarray, *,
                      skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RMS distance of each query row to its nearest reference row, and that row's index.

    ``skip[i]``, when given, is a reference row that query ``i`` may not take
    (itself, when the queries are reference rows). Chunked: memory is
    ``chunk x len(reference)``.

    Examples
    --------
    >>> d, i = nearest_distances(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 1.0]]))
    >>> d.round(3).tolist(), i.tolist()
    ([0.707, 3.0], [0, 0])
    """
    q, r = _flat(queries), _flat(reference)
    dims = max(1, q.shape[1])
    r_norm = (r.astype(np.float64) ** 2).sum(axis=1)
    dist, index = np.empty(len(q)), np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), _CHUNK):
        block = q[start:start + _CHUNK].astype(np.float64)
        rows = np.arange(len(block))
        d2 = (block ** 2).sum(axis=1)[:, None] + r_norm[None, :] - 2.0 * block @ r.T
        if skip is not None:
            d2[rows, skip[start:start + len(block)]] = np.inf
        best = np.argmin(d2, axis=1)
        index[start:start + len(block)] = best
        dist[start:start + len(block)] = np.sqrt(np.maximum(d2[rows, best], 0.0) / dims)
    return dist, index


def _mean_pairwise(X: np.ndarray) -> float | None:
    """Mean RMS distance between two distinct rows (None for fewer than two)."""
    if len(X) < 2:
        return None
    f = _flat(X).astype(np.float64)
    norms = (f ** 2).sum(axis=1)
    d2 = np.maximum(norms[:, None] + norms[None, :] - 2.0 * f @ f.T, 0.0) / max(1, f.shape[1])
    n = len(f)
    return float(np.sqrt(d2)[~np.eye(n, dtype=bool)].mean())


def _percentiles(d: np.ndarray) -> dict[str, float] | None:
    if len(d) == 0:
        return None
    p = np.percentile(d, [1, 5, 50])
    return {"p1": float(p[0]), "p5": float(p[1]), "median": float(p[2])}


def _duplicates(X_syn: np.ndarray, X_real: np.ndarray) -> tuple[int, int]:
    """``(synthetic equal to an earlier synthetic image, synthetic equal to a real image)``."""
    syn = [np.ascontiguousarray(x).tobytes() for x in X_syn]
    real = {np.ascontiguousarray(x).tobytes() for x in X_real}
    return len(syn) - len(set(syn)), sum(s in real for s in syn)


@dataclass
class FidelityClassifier:
    """A small CNN trained on real images, with its recall per class on real images it did
    not train on (``None`` for a class too small to hold one back)."""

    model: Any
    classes: list
    held_back_recall: dict = field(default_factory=dict)
    image_shape: tuple = ()
    device: str = "cpu"
    spec: ImageSpec | None = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The class of each image (laid out as the images it was trained on)."""
        from .evaluation.classifiers import predict

        index = predict(self.model, as_uint8(X, self.spec), device=self.device)
        return np.asarray(self.classes, dtype=object)[index]

    def save(self, path) -> None:
        """Weights and plain values, read back with ``weights_only=True`` (:meth:`load`)."""
        from .checkpoint import save_classifier

        save_classifier(path, self.model.state_dict(), {
            "classes": [_plain(c) for c in self.classes],
            "held_back_recall": [self.held_back_recall.get(c) for c in self.classes],
            "image_shape": list(self.image_shape),
            "spec": self.spec.to_dict() if self.spec is not None else None})

    @classmethod
    def load(cls, path, *, device: str = "cpu") -> FidelityClassifier:
        from ._validation import resolve_device
        from .checkpoint import load_classifier
        from .evaluation.classifiers import build_classifier

        state, meta = load_classifier(path)
        shape = meta["image_shape"]
        model = build_classifier("simple_cnn", in_channels=shape[2] if len(shape) == 3 else 1,
                                 n_classes=len(meta["classes"]), image_size=tuple(shape[:2]))
        model.load_state_dict(state)
        device = str(resolve_device(device))     # "auto" is the best device there is
        model.to(device).eval()
        spec = ImageSpec.from_dict(meta["spec"]) if meta.get("spec") else None
        return cls(model, meta["classes"], dict(zip(meta["classes"], meta["held_back_recall"],
                                                    strict=True)), tuple(shape), device, spec)


def fidelity_classifier(X_real: np.ndarray, y_real, *, spec: ImageSpec | None = None,
                        steps: int = 300, random_state=0,
                        device: str = "cpu") -> FidelityClassifier:
    """Train the fidelity classifier on the real images, with labels ``y_real``.

    ``spec`` says how the images are laid out and scaled (a fitted sampler's
    ``image_spec_``); ``None`` means uint8 ``(N, H, W[, 3])``. A fifth of each
    class of 5 or more images is held back (seeded) to measure the
    classifier's own recall; it then trains ``steps`` steps, with shift
    augmentation, on the rest.
    """
    from .evaluation.classifiers import TrainSpec, predict, train_classifier

    X_real = as_uint8(X_real, spec)
    y = np.asarray(y_real)
    classes = sorted(set(y.tolist()), key=str)
    index = {c: i for i, c in enumerate(classes)}
    y_idx = np.array([index[c] for c in y.tolist()], dtype=np.int64)
    rng = np.random.default_rng(random_state)
    held = np.zeros(len(y), dtype=bool)
    for i in range(len(classes)):
        members = rng.permutation(np.flatnonzero(y_idx == i))
        if len(members) >= 5:
            held[members[: len(members) // 5]] = True
    side = min(X_real.shape[1:3])
    training = TrainSpec(epochs=1, steps=steps, batch_size=64, augment=True,
                         max_shift=max(1, round(side / 14)), device=device)
    model = train_classifier("simple_cnn", X_real[~held], y_idx[~held], len(classes), training,
                             random_state=random_state)
    recall: dict = {}
    if held.any():
        pred = predict(model, X_real[held], device=device)
        for i, c in enumerate(classes):
            mine = y_idx[held] == i
            recall[c] = float((pred[mine] == i).mean()) if mine.any() else None
    return FidelityClassifier(model, classes, {c: recall.get(c) for c in classes},
                              tuple(X_real.shape[1:]), device, spec)


@dataclass
class Reference:
    """The real images' nearest-neighbour distances per class, and the near-copy threshold
    of each class (:data:`NEAR_COPY_RULE`; ``None`` when no class has two real images)."""

    real_nn: dict
    thresholds: dict


def reference(X_real, y_real, *, max_reference: int = 2000, random_state=0) -> Reference:
    """What synthetic images of ``y_real``'s classes are measured against (computed once).

    For each class of 2 or more real images, up to ``max_reference`` of them
    (seeded) are queried for their nearest *other* real image of the class.
    """
    X_real, y_real = np.asarray(X_real), np.asarray(y_real)
    rng = np.random.default_rng(random_state)
    real_nn: dict = {}
    for c in sorted(set(y_real.tolist()), key=str):
        members = np.flatnonzero(y_real == c)
        if len(members) >= 2:
            query = (rng.choice(members, max_reference, replace=False)
                     if len(members) > max_reference else members)
            real_nn[c], _ = nearest_distances(X_real[query], X_real[members],
                                              skip=np.searchsorted(members, query))
    pooled = np.concatenate(list(real_nn.values())) if real_nn else np.zeros(0)
    fallback = float(np.quantile(pooled, NEAR_COPY_QUANTILE)) if len(pooled) else None
    thresholds = {c: float(np.quantile(real_nn[c], NEAR_COPY_QUANTILE)) if c in real_nn
                  else fallback for c in set(y_real.tolist())}
    return Reference(real_nn, thresholds)


def near_copies(ref: Reference, X_real, y_real, X_syn, y_syn
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(flags, nearest, distance)`` of each synthetic image: whether it is a near-copy,
    the index into ``X_real`` of its nearest real image of its class (-1 if none) and the
    distance to it.

    Examples
    --------
    >>> X = np.arange(40, dtype=np.uint8).reshape(10, 2, 2) * 6; y = np.zeros(10, int)
    >>> flags, nearest, _ = near_copies(reference(X, y), X, y, X[[3]], y[[3]])
    >>> flags.tolist(), nearest.tolist()
    ([True], [3])
    """
    X_real, X_syn = np.asarray(X_real), np.asarray(X_syn)
    y_real, y_syn = np.asarray(y_real), np.asarray(y_syn)
    flags = np.zeros(len(X_syn), dtype=bool)
    nearest = np.full(len(X_syn), -1, dtype=np.int64)
    distance = np.full(len(X_syn), np.nan)
    for c in set(y_syn.tolist()):
        real_idx, syn_idx = np.flatnonzero(y_real == c), np.flatnonzero(y_syn == c)
        if not len(real_idx):
            continue
        d, which = nearest_distances(X_syn[syn_idx], X_real[real_idx])
        nearest[syn_idx], distance[syn_idx] = real_idx[which], d
        threshold = ref.thresholds.get(c)
        if threshold is not None:
            flags[syn_idx] = d <= threshold
    return flags, nearest, distance


def quality_report(X_real, y_real, X_syn, y_syn, *,
                   classifier: FidelityClassifier | None = None,
                   encode: Callable[[np.ndarray], np.ndarray] | None = None,
                   ref: Reference | None = None,
                   max_reference: int = 2000, max_measured: int = 100, random_state=0
                   ) -> tuple[dict, np.ndarray, np.ndarray]:
    """The measures of ``X_syn`` against ``X_real``, per class and overall.

    Parameters
    ----------
    X_real, y_real : arrays
        The real images (those the generator learned from) and their labels.
    X_syn, y_syn : arrays
        The synthetic images, of the same shape, and the class each was made for.
    classifier : FidelityClassifier, optional
        Gives fidelity; without it fidelity is left out.
    encode : callable, optional
        ``encode(X) -> codes``: gives novelty in that latent space too.
    ref : Reference, optional
        :func:`reference` of the real images, when already computed.
    max_reference : int, default=2000
        At most this many real images a class (seeded) are queried for the real
        nearest-neighbour distances; diversity uses at most 500 of each, and
        latent novelty at most as many real images.
    max_measured : int, default=100
        Fidelity and latent novelty are measured on at most this many
        synthetic images a class (seeded): 100 give a class's fidelity within
        about 10 points (95 %, at worst) and the overall figure within about 3
        for ten classes. Near-copies are checked for every image.

    Returns
    -------
    report : dict
        JSON-ready: ``rule``, ``overall`` and ``classes`` (see the module).
    near_copy : ndarray of bool, shape (len(X_syn),)
        Which synthetic images are near-copies under :data:`NEAR_COPY_RULE`.
    nearest : ndarray of int, shape (len(X_syn),)
        The index into ``X_real`` of each one's nearest real image of its class
        (-1 where the class has none): what a preview shows beside it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, (40, 6, 6)).astype(np.uint8); y = np.repeat([0, 1], 20)
    >>> report, near, _ = quality_report(X, y, X[:10], y[:10])    # copies of real images
    >>> bool(near.all()), report["overall"]["near_copy_share"], report["overall"]["copies_of_real"]
    (True, 1.0, 10)
    """
    X_real, X_syn = np.asarray(X_real), np.asarray(X_syn)
    y_real, y_syn = np.asarray(y_real), np.asarray(y_syn)
    if len(X_syn) and X_syn.shape[1:] != X_real.shape[1:]:
        raise ValueError(f"synthetic images are {X_syn.shape[1:]}, real ones "
                         f"{X_real.shape[1:]}; they must share one shape.")
    ref = ref or reference(X_real, y_real, max_reference=max_reference,
                           random_state=random_state)
    rng = np.random.default_rng(random_state)

    def sample(idx: np.ndarray, at_most: int = max_reference) -> np.ndarray:
        return np.sort(rng.choice(idx, at_most, replace=False)) if len(idx) > at_most else idx

    near, nearest, distance = near_copies(ref, X_real, y_real, X_syn, y_syn)
    classes = sorted(set(y_real.tolist()) | set(y_syn.tolist()), key=str)
    measured = {c: sample(np.flatnonzero(y_syn == c), max_measured) for c in classes}
    latent = _latent_novelty(encode, X_real, y_real, X_syn, measured, sample) if encode else {}
    predicted = None
    if classifier is not None and len(X_syn):
        picked = np.concatenate([measured[c] for c in classes])
        predicted = np.empty(len(X_syn), dtype=object)
        predicted[picked] = classifier.predict(X_syn[picked])
    rows = []
    for c in classes:
        real_idx, syn_idx = np.flatnonzero(y_real == c), np.flatnonzero(y_syn == c)
        syn_nn = distance[syn_idx][~np.isnan(distance[syn_idx])]
        row: dict[str, Any] = {"class": _plain(c), "n_real": int(len(real_idx)),
                               "n_synthetic": int(len(syn_idx)),
                               "near_copy_threshold": ref.thresholds.get(c)}
        row["novelty_pixels"] = {"synthetic": _percentiles(syn_nn),
                                 "real": _percentiles(ref.real_nn.get(c, np.zeros(0)))}
        if c in latent:
            row["novelty_latent"] = latent[c]
        row["near_copies"] = int(near[syn_idx].sum())
        row["near_copy_share"] = float(near[syn_idx].mean()) if len(syn_idx) else None
        dup, copies = _duplicates(X_syn[syn_idx], X_real[real_idx])
        real_spread, syn_spread = (_mean_pairwise(X_real[sample(real_idx)[:500]]),
                                   _mean_pairwise(X_syn[sample(syn_idx)[:500]]))
        row["diversity"] = {"synthetic_spread": syn_spread, "real_spread": real_spread,
                            "ratio": (syn_spread / real_spread
                                      if syn_spread is not None and real_spread else None)}
        row["exact_duplicates"], row["copies_of_real"] = dup, copies
        if predicted is not None and classifier is not None:
            row["fidelity"] = (float((predicted[measured[c]] == c).mean()) if len(syn_idx)
                               else None)
            row["real_recall"] = classifier.held_back_recall.get(c)
        if predicted is not None or (encode is not None and len(syn_idx)):
            row["measured_synthetic"] = int(len(measured[c]))
        rows.append(row)
    report = {"rule": NEAR_COPY_RULE, "units": "root-mean-square pixel difference, in the "
                                               "images' own pixel units",
              "overall": _overall(rows, near, predicted is not None), "classes": rows}
    return report, near, nearest


def sample_without_near_copies(sampler, request: dict, *, random_state=None,
                               max_rounds: int = 30, ref: Reference | None = None):
    """``sampler.sample(request)``, with every near-copy replaced by a new draw.

    Draws again, with seeds derived from ``random_state``, for the images each
    round flags, up to ``max_rounds`` rounds (each round draws only what is
    still short, so 30 cost little; a model whose new images are near-copies
    two times in three still fills 20 images well within them); then raises
    ``ValueError`` saying
    how many images of which classes are still short (a class whose real
    images lie so close together that almost every new one is a near-copy).

    Returns
    -------
    X_new, y_new : ndarray
        Exactly the requested counts, none of them a near-copy.
    """
    X_real, y_real = sampler.training_data()
    ref = ref or reference(X_real, y_real)
    base = int(np.random.SeedSequence(random_state).generate_state(1)[0])
    want = {c: int(n) for c, n in sampler._resolve_request(request).items() if n}
    kept_X, kept_y = [], []
    for round_ in range(max_rounds):
        if not want:
            break
        X_new, y_new = sampler.sample(want, random_state=(base + round_) % 2**32)
        flags, _, _ = near_copies(ref, X_real, y_real, X_new, y_new)
        kept_X.append(X_new[~flags])
        kept_y.append(y_new[~flags])
        flagged, counts = np.unique(np.asarray(y_new)[flags], return_counts=True)
        want = {_plain(c): int(n) for c, n in zip(flagged, counts, strict=True)}
    if want:
        raise ValueError(f"after {max_rounds} draws, {sum(want.values())} images are still "
                         f"near-copies of real ones ({want}): this model rarely draws images of "
                         f"those classes far enough from its real images; ask near_copies "
                         f"'flag' to keep and mark them, or ask for fewer images.")
    if not kept_X:      # nothing asked for
        return sampler.sample({c: 0 for c in sampler.classes_.tolist()})
    return np.concatenate(kept_X), np.concatenate(kept_y)


def _latent_novelty(encode, X_real: np.ndarray, y_real: np.ndarray, X_syn: np.ndarray,
                    measured: dict, sample: Callable) -> dict:
    """Novelty in the latent space, per class of 2 or more real images and some synthetic
    ones. The images of every class are encoded in one call each for real and synthetic:
    a call per class costs a new set of convolution kernels per batch shape."""
    classes = [c for c, idx in measured.items() if len(idx) and (y_real == c).sum() >= 2]
    if not classes:
        return {}
    real = {c: sample(np.flatnonzero(y_real == c)) for c in classes}
    z_real = np.asarray(encode(X_real[np.concatenate([real[c] for c in classes])]))
    z_syn = np.asarray(encode(X_syn[np.concatenate([measured[c] for c in classes])]))
    out, r0, s0 = {}, 0, 0
    for c in classes:
        zr, zs = z_real[r0:r0 + len(real[c])], z_syn[s0:s0 + len(measured[c])]
        r0, s0 = r0 + len(real[c]), s0 + len(measured[c])
        real_d, _ = nearest_distances(zr, zr, skip=np.arange(len(zr)))
        syn_d, _ = nearest_distances(zs, zr)
        out[c] = {"synthetic": _percentiles(syn_d), "real": _percentiles(real_d)}
    return out


def _overall(rows: list[dict], near: np.ndarray, with_fidelity: bool) -> dict:
    n_syn = sum(r["n_synthetic"] for r in rows)
    out: dict[str, Any] = {
        "n_synthetic": n_syn,
        "near_copies": int(near.sum()),
        "near_copy_share": float(near.mean()) if len(near) else None,
        "exact_duplicates": sum(r["exact_duplicates"] for r in rows),
        "copies_of_real": sum(r["copies_of_real"] for r in rows),
    }
    ratios = [r["diversity"]["ratio"] for r in rows if r["diversity"]["ratio"] is not None]
    out["diversity_ratio"] = float(np.mean(ratios)) if ratios else None
    medians = [(r["novelty_pixels"]["synthetic"]["median"], r["novelty_pixels"]["real"]["median"])
               for r in rows if r["novelty_pixels"]["synthetic"] and r["novelty_pixels"]["real"]]
    out["novelty_ratio"] = (float(np.mean([s / r for s, r in medians if r > 0]))
                            if any(r > 0 for _, r in medians) else None)
    if with_fidelity:
        weighted = [(r["fidelity"], r["n_synthetic"]) for r in rows if r["fidelity"] is not None]
        out["fidelity"] = (sum(f * n for f, n in weighted) / sum(n for _, n in weighted)
                           if weighted else None)
        out["fidelity_measured_on"] = sum(r.get("measured_synthetic", 0) for r in rows)
        recalls = [r["real_recall"] for r in rows if r.get("real_recall") is not None]
        out["real_recall"] = float(np.mean(recalls)) if recalls else None
    return out


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def summary_text(overall: dict) -> str:
    """One line for people: how many near-copies, how faithful, how diverse.

    Examples
    --------
    >>> print(summary_text({"n_synthetic": 200, "near_copies": 3, "near_copy_share": 0.015,
    ...       "exact_duplicates": 0, "copies_of_real": 0, "diversity_ratio": 0.8,
    ...       "novelty_ratio": 0.6, "fidelity": 0.9, "real_recall": 0.95}))
    3 of 200 synthetic images (1.5 %) are near-copies of a real image; 90.0 % are classified
    as their class (real images: 95.0 %); their spread is 0.80 of the real images' and their
    distance to the nearest real image 0.60 of the real images' to each other.
    """
    share = overall.get("near_copy_share")
    parts = [f"{overall['near_copies']} of {overall['n_synthetic']} synthetic images "
             f"({100 * share:.1f} %) are near-copies of a real image"
             if share is not None else "no synthetic images"]
    if overall.get("fidelity") is not None:
        ref = overall.get("real_recall")
        checked = overall.get("fidelity_measured_on")
        of = (f" of the {checked} checked" if checked is not None
              and checked < overall["n_synthetic"] else "")
        parts.append(f"{100 * overall['fidelity']:.1f} %{of} are classified as their class"
                     + (f" (real images: {100 * ref:.1f} %)" if ref is not None else ""))
    if overall.get("diversity_ratio") is not None:
        parts.append(f"their spread is {overall['diversity_ratio']:.2f} of the real images' "
                     f"and their distance to the nearest real image "
                     f"{overall['novelty_ratio']:.2f} of the real images' to each other"
                     if overall.get("novelty_ratio") is not None else
                     f"their spread is {overall['diversity_ratio']:.2f} of the real images'")
    if overall.get("exact_duplicates"):
        parts.append(f"{overall['exact_duplicates']} are exact duplicates of another")
    return "; ".join(parts) + "."


__all__ = ["NEAR_COPY_QUANTILE", "NEAR_COPY_RULE", "FidelityClassifier", "Reference",
           "as_uint8", "fidelity_classifier", "near_copies", "nearest_distances",
           "quality_report", "reference", "sample_without_near_copies", "summary_text"]
