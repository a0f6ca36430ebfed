"""Which way of generating from a trained DeepCLSMOTE helps an augmented classifier most.

Two protocols (``--dataset``):

- ``mnist``, the evaluation issue's calibration protocol on real MNIST: the
  test set split ``[800, 400, 200, 150, 100, 70, 40, 20, 12, 8]`` for
  training, a balanced test set of 80 images per class from the rest; the
  autoencoder trains 36 epochs, the small CNN 15.
- ``fashion``, the same shape on the 1,000-image Fashion-MNIST set: training
  counts ``[50, 25, 12, 9, 6, 5, 5, 5, 5, 5]``, a balanced test set of 30 per
  class; as the ``cpu`` profile of ``deepclsmote evaluate`` does for small
  pools, the autoencoder trains 600 epochs (1,200 steps) and the CNN 150 (300
  steps on the imbalanced set).

The small CNN is trained with random shifts of up to 2 pixels. Per seed, ONE
DeepCLSMOTE autoencoder is trained and every generation variant draws from
it, so the variants differ only in how the new images are made; random
oversampling is the baseline every variant is paired with.

Variants (all residual decoding: ``x_base + D(z) - D(z_base)``):

- ``interp``: latent SMOTE, ``u ~ U(0, 1)`` (the library's behaviour);
- ``interp_u<m>``: ``u ~ U(0, m)``, new images closer to their base image;
- ``mix<f>``: a fraction ``f`` of the new images are plain duplicates (as
  random oversampling), the rest latent SMOTE;
- ``both``: half latent SMOTE, half ``transfer``;
- ``transfer``: ``z_base + u * (z_a - z_b)`` with ``(a, b)`` a nearest
  neighbour pair of ANY class: variation learned on the large classes,
  applied to the small ones.

Options follow the mode, joined by ``_`` (``transfer_near3_u1.5``):
``u<m>``: ``u ~ U(0, m)``; ``k3``: steps to the 3 nearest classmates;
``bal``: every class gives as many steps as the largest; ``near<m>``: a class
borrows steps only from the ``m`` classes whose centroids are nearest its own
(itself included); ``far<m>``: the opposite, a class borrows from every
class but the ``m`` others nearest it, so a sneaker is not carved along the
steps between two sandals; ``scaled``: a step lent by class ``j`` to class ``c`` is
scaled by ``r_c / r_j``, ``r`` the root mean square distance of a class's codes
to its centroid; ``dup<f>``: a fraction ``f`` of the new images are
duplicates; ``clean``: a new code whose nearest real code is of another
class is drawn again (up to 10 times, then it stays at its base), so no
class's new images reach into another's region; ``mask<d>``: the change
residual decoding makes is kept only on the base image's foreground (pixels
above a tenth of the range, any channel) grown by ``d`` pixels, so a step
lent by a garment cannot speckle the black background of a sandal;
``smooth<s>``: that change is blurred (Gaussian, ``s`` pixels) before it is
added, so it moves shapes and shades without the speckle a decoder trained on
a few hundred images adds; ``over<f>``: every class, the largest included,
grows to ``f`` times the largest class (``transfer_dup1_over2`` is random
oversampling to twice the largest class, the control for ``transfer_over2``);
``aeshift<s>``: draw from an autoencoder trained with ``train_shift=s`` (each
training image shifted by up to ``s`` pixels at every step; one more
autoencoder per seed for each such value); ``reenc``: three candidates are
drawn for every new image, and those whose decoded image, encoded again,
lands nearest a real code of another class are the last chosen;
``cnnfilter``: the same, but a candidate is judged by the random
oversampling classifier of the seed (trained on the same training images,
never on test images): those it takes for another class are the last
chosen; ``ft<f>``: the classifier's last fraction ``f`` of its steps train
on random oversampling's set (real images only) instead, so the boundaries
it ends with are drawn by real images and the generated ones only shape the
features before (the same number of steps in all).

Usage::

    python bench/bench_generation.py [--dataset mnist] [--seeds 0 1 2 3 4] \
        [--variants ...] [--w 0.02] [--device cpu]
    python bench/bench_generation.py --summarise rows.jsonl ...

``--summarise`` reads the per-seed lines of earlier runs (for seeds run as
separate processes, e.g. on a GPU) and prints their summary.

One line of JSON per seed and variant goes to stderr as it is measured; the
summary (mean and standard deviation, the paired difference to random
oversampling, in how many seeds it is ahead, Wilcoxon p) goes to stdout.
This is a scouting harness: the library's own ``interpolation="transfer"``
draws the same distribution in a different random order, and
``deepclsmote evaluate --methods ...,deepclsmote_transfer`` is what confirms
a variant (docs/results.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from imblearn.over_sampling import RandomOverSampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluate_scout import train_then_finish  # noqa: E402  (bench/, beside this script)

from deepclsmote import DeepCLSMOTE, generation  # noqa: E402
from deepclsmote import _validation as v  # noqa: E402
from deepclsmote.datasets import load_idx_pair, load_npz  # noqa: E402
from deepclsmote.evaluation import (  # noqa: E402
    TrainSpec,
    classification_report,
    paired_wilcoxon,
    predict,
    train_classifier,
)
from deepclsmote.evaluation.imbalance import MNIST_TEST_COUNTS  # noqa: E402
from deepclsmote.evaluation.metrics import rarest_classes  # noqa: E402

#: dataset -> (training counts, test images per class, autoencoder epochs, CNN epochs)
PROTOCOLS = {
    "mnist": (MNIST_TEST_COUNTS, 80, 36, 15),
    "fashion": ([50, 25, 12, 9, 6, 5, 5, 5, 5, 5], 30, 600, 150),
}


def load(dataset: str, data_dir: Path):
    if dataset == "mnist":
        root = data_dir / "mnist"
        return load_idx_pair(root / "t10k-images-idx3-ubyte.gz",
                             root / "t10k-labels-idx1-ubyte.gz")
    data = load_npz(data_dir / "fashion-mnist-1000" / "fashion_mnist_test_subset1000.npz")
    return data.images, data.labels


def split(y, seed, counts, test_per_class):
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.choice(np.flatnonzero(y == c), n, replace=False)
                            for c, n in enumerate(counts)])
    rest = np.setdiff1d(np.arange(len(y)), train)
    test = np.concatenate([rng.choice(rest[y[rest] == c], test_per_class, replace=False)
                           for c in range(10)])
    return train, test


def parse_variant(name: str) -> dict:
    """``mode[_option...]``, see the module's docstring."""
    mode, *options = name.split("_")
    variant = {"mode": mode, "u_max": 1.0, "dup": 0.0, "pool": "", "near": 0, "far": 0,
               "scaled": False, "over": 1.0, "mask": None, "clean": False, "smooth": 0.0,
               "ae_shift": 0, "filter": None, "ft": 0.0}
    if mode.startswith("mix"):  # mix<f>: the older spelling of interp_dup<f>
        variant.update(mode="interp", dup=float(mode[3:]))
    elif mode not in ("interp", "transfer", "both"):
        raise SystemExit(f"unknown variant {name!r}")
    for opt in options:
        if opt in ("bal", "k3"):
            variant["pool"] = opt
        elif opt == "scaled":
            variant["scaled"] = True
        elif opt == "clean":
            variant["clean"] = True
        elif opt in ("reenc", "cnnfilter"):
            variant["filter"] = opt
        elif opt.startswith("near"):
            variant["near"] = int(opt[4:])
        elif opt.startswith("ft"):
            variant["ft"] = float(opt[2:])
        elif opt.startswith("far"):
            variant["far"] = int(opt[3:])
        elif opt.startswith("dup"):
            variant["dup"] = float(opt[3:])
        elif opt.startswith("smooth"):
            variant["smooth"] = float(opt[6:])
        elif opt.startswith("mask"):
            variant["mask"] = int(opt[4:])
        elif opt.startswith("aeshift"):
            variant["ae_shift"] = int(opt[7:])
        elif opt.startswith("over"):
            variant["over"] = float(opt[4:])
        elif opt.startswith("u"):
            variant["u_max"] = float(opt[1:])
        else:
            raise SystemExit(f"unknown option {opt!r} in variant {name!r}")
    return variant


def _step_pools(codes, labels, counts, variant, gen):
    """Per class to grow: the steps it may borrow, and each step's scale."""
    deltas, owner = [], []
    pool = variant["pool"]
    for c in range(len(counts)):
        members = torch.nonzero(labels == c).flatten()
        k = 3 if pool == "k3" else 1
        nbrs = generation.class_neighbours(codes[members], k)
        d = (codes[members[nbrs]] - codes[members][:, None]).reshape(-1, codes.shape[1])
        if pool == "bal":  # every class gives as many steps as the largest
            d = d[torch.randint(len(d), (int(counts.max()),), generator=gen)]
        deltas.append(d)
        owner.append(torch.full((len(d),), c))
    all_d, all_owner = torch.cat(deltas), torch.cat(owner)
    centroids = torch.stack([codes[labels == c].mean(0) for c in range(len(counts))])
    radius = torch.stack([(codes[labels == c] - centroids[c]).pow(2).sum(1).mean().sqrt()
                          for c in range(len(counts))])
    pools = {}
    for c in range(len(counts)):
        keep = torch.ones(len(all_d), dtype=torch.bool)
        nearest = torch.cdist(centroids[c:c + 1], centroids)[0].argsort()   # itself first
        if variant["near"]:
            keep = torch.isin(all_owner, nearest[:variant["near"]])
        if variant["far"]:
            keep = ~torch.isin(all_owner, nearest[1:1 + variant["far"]])
        d = all_d[keep]
        if variant["scaled"]:
            d = d * (radius[c] / radius[all_owner[keep]])[:, None]
        pools[c] = d
    return pools


def _smooth_change(img, x_base, sigma, margin):
    """The change residual decoding made, blurred (Gaussian, ``sigma`` pixels)."""
    from torchvision.transforms.functional import gaussian_blur

    change = gaussian_blur(img - x_base, kernel_size=2 * int(3 * sigma) + 1, sigma=sigma)
    if margin is not None:
        change = change * generation.foreground(x_base, margin)
    return (x_base + change).clamp(-1.0, 1.0)


def _keep_clean(z, z_base, c, codes, labels, steps, variant, gen, tries=10):
    """Redraw every new code whose nearest real code is of another class.

    A step drawn again (new step, new ``u``) up to ``tries`` times; a code still
    outside its class then stays at its base (the base image, duplicated).
    """
    z = z.clone()
    outside = lambda: labels[torch.cdist(z, codes).argmin(dim=1)] != c  # noqa: E731
    bad = outside()
    first = int(bad.sum())
    for _ in range(tries):
        n = int(bad.sum())
        if not n:
            break
        u = variant["u_max"] * torch.rand(n, 1, generator=gen)
        z[bad] = z_base[bad] + u * steps[torch.randint(len(steps), (n,), generator=gen)]
        bad = outside()
    z[bad] = z_base[bad]
    print(f"clean: class {c}, {first} of {len(z)} outside at first, {int(bad.sum())} left at "
          "the base", file=sys.stderr)
    return z


#: Candidates drawn per new image by the ``reenc`` and ``cnnfilter`` options.
CANDIDATES = 3


def _choose(img, c, n, variant, sampler, judge):
    """``n`` of the candidate images ``img``: those judged to be of class ``c`` first."""
    if variant["filter"] == "reenc":
        z = sampler._encode(img)
        ok = sampler.labels_[torch.cdist(z, sampler.codes_).argmin(dim=1)].cpu() == c
    else:
        spec = sampler.image_spec_
        x = v.from_nchw(v.scale_from_unit(img.cpu().numpy(), spec), spec)
        ok = torch.from_numpy(predict(judge, x) == c)
    order = torch.argsort((~ok).to(torch.int8), stable=True)[:n]
    print(f"{variant['filter']}: class {c}, {int(ok.sum())} of {len(img)} candidates kept "
          f"for {n} new images", file=sys.stderr)
    return img[order.to(img.device)]


@torch.no_grad()
def generate(sampler: DeepCLSMOTE, y: np.ndarray, variant: dict, seed: int, judge=None):
    """New images balancing ``y``, from ``sampler``'s codes, the way ``variant`` says.

    ``judge``: the classifier of the ``cnnfilter`` option.
    """
    gen = torch.Generator().manual_seed(seed)
    counts = np.bincount(y)
    dev = sampler.device_
    codes, labels = sampler.codes_.cpu(), sampler.labels_.cpu()
    images = sampler.images_.cpu()
    pools = None
    if variant["mode"] in ("transfer", "both"):
        pools = _step_pools(codes, labels, counts, variant, gen)
    out_x, out_y = [], []
    target = int(round(variant["over"] * counts.max()))
    for c, n in enumerate(counts):
        n_new = int(target - n)
        if n_new == 0:
            continue
        members = torch.nonzero(labels == c).flatten()
        n_dup = int(round(variant["dup"] * n_new))
        n_syn = n_new - n_dup
        if n_dup:
            pick = members[torch.randint(len(members), (n_dup,), generator=gen)]
            out_x.append(images[pick])
        if n_syn:
            n_out, n_syn = n_syn, n_syn * (CANDIDATES if variant["filter"] else 1)
            cz = codes[members]
            u = variant["u_max"] * torch.rand(n_syn, 1, generator=gen)
            if variant["mode"] == "interp":
                k = min(5, len(members) - 1)
                nbrs = generation.class_neighbours(cz, k)
                base = torch.randint(len(members), (n_syn,), generator=gen)
                nb = nbrs[base, torch.randint(k, (n_syn,), generator=gen)]
                z = cz[base] + u * (cz[nb] - cz[base])
            else:
                base = torch.randint(len(members), (n_syn,), generator=gen)
                assert pools is not None
                d = pools[c][torch.randint(len(pools[c]), (n_syn,), generator=gen)]
                z = cz[base] + u * d
                if variant["clean"]:
                    z = _keep_clean(z, cz[base], c, codes, labels, pools[c], variant, gen)
                if variant["mode"] == "both":
                    k = min(5, len(members) - 1)
                    nb = generation.class_neighbours(cz, k)[
                        base, torch.randint(k, (n_syn,), generator=gen)]
                    half = torch.rand(n_syn, 1, generator=gen) < 0.5
                    z = torch.where(half, z, cz[base] + u * (cz[nb] - cz[base]))
            x_base = images[members][base].to(dev)
            img = generation.decode(
                sampler.decoder_, z.to(dev), decoding="residual", z_base=cz[base].to(dev),
                x_base=x_base, foreground_margin=variant["mask"])
            if variant["smooth"]:
                img = _smooth_change(img, x_base, variant["smooth"], variant["mask"])
            if variant["filter"]:
                img = _choose(img, c, n_out, variant, sampler, judge)
            out_x.append(img.cpu())
        out_y.append(np.full(n_new, c))
    x = torch.cat(out_x).numpy()
    spec = sampler.image_spec_
    X_new = v.from_nchw(v.scale_from_unit(x, spec), spec)
    return X_new, np.concatenate(out_y)


def score(X, y, X_test, y_test, seed, epochs, device, rare, finish=None):
    """The row of one training set, and its trained classifier.

    ``finish=(X_f, y_f, f)``: the last fraction ``f`` of the steps train on
    ``X_f`` instead (option ``ft``).
    """
    spec = TrainSpec(epochs=epochs, batch_size=64, augment=True, max_shift=2, device=device)
    if finish is None:
        model = train_classifier("simple_cnn", X, y, 10, spec, random_state=seed)
    else:
        model = train_then_finish(train_classifier, "simple_cnn", X, y, 10, spec, finish,
                                  random_state=seed)
    rep = classification_report(y_test, predict(model, X_test, device=device),
                                labels=list(range(10)))
    return {"acsa": 100 * rep["acsa"],
            "rare3": 100 * float(np.mean([rep["per_class_recall"][c] for c in rare])),
            "recall": [round(100 * r, 2) for r in rep["per_class_recall"]]}, model


def read_rows(paths) -> dict[str, list[dict]]:
    """Per variant, the rows of ``paths``, each (variant, seed) once.

    Runs that share a seed repeat its ``ros`` row (and any variant both ran):
    on one machine the repeat is the same measurement and counts once; rows
    of one seed that differ (another machine trains other weights) cannot be
    paired, and stop the summary naming both files.
    """
    rows: dict[str, list[dict]] = {}
    seen: dict[tuple[str, int], tuple[dict, str]] = {}
    measured = ("acsa", "rare3", "recall")
    for path in paths:
        for line in Path(path).read_text().splitlines():
            if not line.startswith("{"):
                continue
            row = json.loads(line)
            key = (row.pop("variant"), row["seed"])
            if key in seen:
                first, where = seen[key]
                if any(first.get(k) != row.get(k) for k in measured):
                    raise SystemExit(f"{key[0]} seed {key[1]} differs between {where} and "
                                     f"{path}; summarise runs of different machines apart")
                continue
            seen[key] = (row, path)
            rows.setdefault(key[0], []).append(row)
    return rows


def summarise(rows: dict[str, list[dict]]) -> dict:
    """Per variant: mean and sd, the paired difference to ``ros`` (ACSA and the
    rarest classes' recall), Wilcoxon p."""
    ros = {r["seed"]: r["acsa"] for r in rows["ros"]}
    ros_rare = {r["seed"]: r["rare3"] for r in rows["ros"]}
    summary = {}
    for name, rs in rows.items():
        rs = sorted((r for r in rs if r["seed"] in ros), key=lambda r: r["seed"])
        acsa = np.array([r["acsa"] for r in rs])
        rare = np.array([r["rare3"] for r in rs])
        base = np.array([ros[r["seed"]] for r in rs])
        d = acsa - base
        d_rare = rare - np.array([ros_rare[r["seed"]] for r in rs])
        summary[name] = {"seeds": len(rs),
                         "acsa": [round(acsa.mean(), 2), round(acsa.std(ddof=1), 2)],
                         "rare3": [round(rare.mean(), 2), round(rare.std(ddof=1), 2)],
                         "minus_ros": [round(d.mean(), 2), round(d.std(ddof=1), 2)],
                         "ahead_of_ros": int((d > 0).sum()),
                         "rare3_minus_ros": [round(d_rare.mean(), 2), round(d_rare.std(ddof=1), 2)],
                         "rare3_ahead_of_ros": int((d_rare > 0).sum())}
        if name != "ros":
            summary[name]["wilcoxon_p_vs_ros"] = paired_wilcoxon(acsa, base)["p_value"]
    return summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=sorted(PROTOCOLS), default="mnist")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--variants", nargs="+",
                   default=["interp", "interp_u0.5", "mix0.5", "transfer"])
    p.add_argument("--ae-epochs", type=int, help="default: the protocol's")
    p.add_argument("--cnn-epochs", type=int, help="default: the protocol's")
    p.add_argument("--dim-h", type=int, default=16)
    p.add_argument("--n-z", type=int, default=32)
    p.add_argument("--w", type=float, default=0.02, help="both class-latent weights")
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    p.add_argument("--summarise", nargs="+", metavar="JSONL",
                   help="summarise the per-seed lines of earlier runs instead of running")
    args = p.parse_args()
    rows: dict[str, list[dict]] = {}
    if args.summarise:
        rows = read_rows(args.summarise)
        print(json.dumps({"files": args.summarise, "summary": summarise(rows)}, indent=2))
        return
    counts, test_per_class, ae_epochs, cnn_epochs = PROTOCOLS[args.dataset]
    args.ae_epochs = args.ae_epochs or ae_epochs
    args.cnn_epochs = args.cnn_epochs or cnn_epochs
    X, y = load(args.dataset, Path(args.data_dir))
    rare = rarest_classes(counts)
    variants = {name: parse_variant(name) for name in args.variants}
    for seed in args.seeds:
        train, test = split(y, seed, counts, test_per_class)
        X_tr, y_tr, X_te, y_te = X[train], y[train], X[test], y[test]
        samplers, ae_s = {}, {}
        for shift in sorted({variant["ae_shift"] for variant in variants.values()}):
            t0 = time.perf_counter()
            samplers[shift] = DeepCLSMOTE(
                epochs=args.ae_epochs, dim_h=args.dim_h, n_z=args.n_z, batch_size=64,
                w_compact=args.w, w_separation=args.w, train_shift=shift, random_state=seed,
                device=args.device).fit(X_tr, y_tr)
            ae_s[shift] = time.perf_counter() - t0
        flat, y_ros = RandomOverSampler(random_state=seed).fit_resample(
            X_tr.reshape(len(X_tr), -1), y_tr)
        sets = {"ros": (flat.reshape(-1, 28, 28), y_ros)}
        judge = None
        for name in ["ros", *variants]:
            if name != "ros":
                variant = variants[name]
                X_new, y_new = generate(samplers[variant["ae_shift"]], y_tr, variant, seed,
                                        judge)
                sets[name] = (np.concatenate([X_tr, X_new]), np.concatenate([y_tr, y_new]))
            Xs, ys = sets.pop(name)
            t1 = time.perf_counter()
            finish = None
            if name != "ros" and variants[name]["ft"]:
                finish = (flat.reshape(-1, 28, 28), y_ros, variants[name]["ft"])
            scored, model = score(Xs, ys, X_te, y_te, seed, args.cnn_epochs, args.device, rare,
                                  finish)
            if name == "ros":
                judge = model
            row = {"seed": seed, **scored, "cnn_s": time.perf_counter() - t1,
                   "ae_s": ae_s.get(variants[name]["ae_shift"] if name in variants else 0)}
            rows.setdefault(name, []).append(row)
            print(json.dumps({"variant": name, **row}), file=sys.stderr, flush=True)
    print(json.dumps({"args": vars(args), "summary": summarise(rows)}, indent=2))


if __name__ == "__main__":
    main()
