"""``deepclsmote evaluate`` end to end on every loader's format, from files written here.

One small image set (10 classes, a bright row or column per class and some
noise) is written in each format the datasets package reads; the evaluate
command then runs on it, by path or by name, with random oversampling and
DeepCLSMOTE (smoke budget, 2 folds). The report must describe exactly what
the loader returns, hold every fold's and test split's runs, and come with
its table and figures.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from deepclsmote.cli import main
from deepclsmote.datasets import load_dataset

from ..datasets.conftest import write_idx

N_CLASSES, PER_CLASS = 10, 24
CLASS_NAMES = [f"class {c}" for c in range(N_CLASSES)]


def image_set(side: int, channels: int = 0, n_classes: int = N_CLASSES,
              per_class: int = PER_CLASS):
    """``(images, labels)``: class c lights one band of rows or columns, over noise."""
    rng = np.random.default_rng(n_classes)
    labels = np.repeat(np.arange(n_classes), per_class)
    shape = (len(labels), side, side) + ((channels,) if channels else ())
    images = rng.integers(0, 60, shape).astype(np.uint8)
    for i, c in enumerate(labels):
        band = slice(c % (side // 2) * 2, c % (side // 2) * 2 + 2)
        if c < side // 2:
            images[i, band] = 230
        else:
            images[i, :, band] = 230
    return images, labels


def write_idx_folder(folder, prefix: str, images, labels, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, array in (("images-idx3", images), ("labels-idx1", labels.astype(np.uint8))):
        path = folder / f"{prefix}-{kind}-ubyte"
        write_idx(path, array)
        if gz:
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
            path.unlink()


def cifar_members(images, labels) -> dict[str, bytes]:
    """``cifar-10-batches-py``'s files: ``batches.meta`` and ``test_batch``."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)   # R plane, G, B
    batch = {b"batch_label": b"testing batch 1 of 1", b"data": rows,
             b"labels": labels.tolist(), b"filenames": [b"%d.png" % i for i in range(len(rows))]}
    meta = {b"label_names": [n.encode() for n in CLASS_NAMES], b"num_cases_per_batch": len(rows)}
    return {"batches.meta": pickle.dumps(meta, protocol=4),
            "test_batch": pickle.dumps(batch, protocol=4)}


def write_png_tree(root, images, labels) -> None:
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / CLASS_NAMES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")


# Each writer puts its files under ``tmp`` and returns the evaluate command's
# dataset arguments and the matching load_dataset arguments.

def idx_folder_gz(tmp):
    write_idx_folder(tmp / "mnist", "t10k", *image_set(16), gz=True)
    return ["--dataset", str(tmp / "mnist")], (tmp / "mnist",)


def mnist_by_name(tmp):
    write_idx_folder(tmp / "m", "t10k", *image_set(16), gz=False)
    return ["--dataset", "mnist", "--data-dir", str(tmp / "m")], ("mnist", tmp / "m")


def fashion_by_name(tmp):
    write_idx_folder(tmp / "f", "t10k", *image_set(16), gz=True)
    return (["--dataset", "fashion-mnist", "--data-dir", str(tmp / "f")],
            ("fashion-mnist", tmp / "f"))


def kmnist_by_name(tmp):
    write_idx_folder(tmp / "k", "t10k", *image_set(16), gz=True)
    return ["--dataset", "kmnist", "--data-dir", str(tmp / "k")], ("kmnist", tmp / "k")


def emnist_by_name(tmp):
    images, labels = image_set(16)
    write_idx_folder(tmp / "e", "emnist-balanced-test", images.transpose(0, 2, 1), labels,
                     gz=True)
    (tmp / "e" / "emnist-balanced-mapping.txt").write_text(
        "".join(f"{c} {48 + c}\n" for c in range(N_CLASSES)))
    return ["--dataset", "emnist", "--data-dir", str(tmp / "e")], ("emnist", tmp / "e")


def cifar_folder(tmp):
    folder = tmp / "c" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, data in cifar_members(*image_set(32, 3)).items():
        (folder / name).write_bytes(data)
    return ["--dataset", str(folder)], (folder,)


def cifar_by_name(tmp):
    cifar_folder(tmp)
    return ["--dataset", "cifar10", "--data-dir", str(tmp / "c")], ("cifar10", tmp / "c")


def cifar_tarball(tmp):
    path = tmp / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in cifar_members(*image_set(32, 3)).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return ["--dataset", str(path)], (path,)


def svhn_mat(tmp):
    images, labels = image_set(32, 3)
    # SVHN stores (H, W, 3, N) and digit 0 as label 10
    savemat(tmp / "test_32x32.mat", {"X": images.transpose(1, 2, 3, 0),
                                     "y": np.where(labels == 0, 10, labels)[:, None]})
    return ["--dataset", str(tmp / "test_32x32.mat")], (tmp / "test_32x32.mat",)


def svhn_by_name(tmp):
    svhn_mat(tmp)
    return ["--dataset", "svhn", "--data-dir", str(tmp)], ("svhn", tmp)


def gtsrb_folder(tmp):
    """Ten of GTSRB's 43 classes: the loader names all 43, and evaluate leaves out the rest."""
    images, labels = image_set(40, 3)
    header = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"
    root = tmp / "GTSRB"
    for c in range(N_CLASSES):
        folder = root / "Final_Training" / "Images" / f"{c:05d}"
        folder.mkdir(parents=True)
        rows = [header]
        for i in np.flatnonzero(labels == c):
            Image.fromarray(images[i]).save(folder / f"{i:05d}_00000.ppm")
            rows.append(f"{i:05d}_00000.ppm;40;40;4;4;36;36;{c}")
        (folder / f"GT-{c:05d}.csv").write_text("\n".join(rows) + "\n")
    return ["--dataset", str(root)], (root,)


def image_folder(tmp):
    write_png_tree(tmp / "pngs", *image_set(20, 3))
    return ["--dataset", str(tmp / "pngs")], (tmp / "pngs",)


def image_folder_zip(tmp):
    write_png_tree(tmp / "pngs", *image_set(20))
    path = tmp / "pngs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for png in sorted((tmp / "pngs").rglob("*.png")):
            zf.write(png, f"pngs/{png.relative_to(tmp / 'pngs')}")
    return ["--dataset", str(path)], (path,)


def npz_arrays(tmp):
    images, labels = image_set(14)
    np.savez(tmp / "set.npz", images=images, labels=labels, classes=np.array(CLASS_NAMES))
    return ["--dataset", str(tmp / "set.npz")], (tmp / "set.npz",)


def csv_rows(tmp):
    images, labels = image_set(12)
    lines = ["label," + ",".join(f"pixel{i}" for i in range(144))]
    lines += [f"{y}," + ",".join(map(str, x.ravel())) for x, y in zip(images, labels, strict=True)]
    (tmp / "set.csv").write_text("\n".join(lines) + "\n")
    return ["--dataset", str(tmp / "set.csv")], (tmp / "set.csv",)


def digits(tmp):
    return ["--dataset", "digits"], ("digits",)


WRITERS = [idx_folder_gz, mnist_by_name, fashion_by_name, kmnist_by_name, emnist_by_name,
           cifar_folder, cifar_by_name, cifar_tarball, svhn_mat, svhn_by_name, gtsrb_folder,
           image_folder, image_folder_zip, npz_arrays, csv_rows, digits]


@pytest.mark.parametrize("write", WRITERS, ids=[w.__name__ for w in WRITERS])
def test_evaluate_runs_on_every_loader(write, tmp_path, capsys):
    dataset_args, load_args = write(tmp_path)
    expected = load_dataset(*load_args)
    counts = expected.counts().tolist()
    if write is not digits:
        assert [n for n in counts if n] == [PER_CLASS] * N_CLASSES
    with_images = [c for c, n in zip(expected.classes, counts, strict=True) if n]
    without = [c for c, n in zip(expected.classes, counts, strict=True) if not n]
    assert len(without) == (33 if write is gtsrb_folder else 0)   # GTSRB names its 43 classes
    out = tmp_path / "report"
    assert main(["evaluate", *dataset_args, "--methods", "ros,recommended", "--folds", "2",
                 "--profile", "smoke", "--imbalance", "paper", "--augment", "on", "--device",
                 "cpu", "--out", str(out)]) == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"] == {"name": expected.name, "classes": with_images,
                                 "image_shape": list(expected.images.shape[1:]),
                                 "available": len(expected),
                                 **({"classes_without_images": without} if without else {})}
    # every image is in the pool or outside it, where the balanced test set is drawn; the
    # split of every image outside is left out when that is only the balanced test set
    outside = report["rest_per_class"] or [report["test_per_class"]] * len(with_images)
    assert [p + r for p, r in zip(report["pool_counts"], outside, strict=True)] == (
        [n for n in counts if n])
    assert min(outside) >= report["test_per_class"] >= 2
    runs = {(r["method"], r["split"], r.get("fold")) for r in report["runs"]}
    assert {(m, "fold", f) for m in ("ros", "recommended") for f in (0, 1)} <= runs
    assert {"recall_per_class.png", "loss_curves.png", "latent_projection.png",
            "grid_recommended.png", "report.md"} <= {p.name for p in out.iterdir()}
    assert "residual decoding" in (out / "report.md").read_text()   # the recipe, described


def test_evaluate_reads_the_split_it_is_asked_for(tmp_path, capsys):
    write_idx_folder(tmp_path / "m", "train", *image_set(16), gz=True)
    args = ["evaluate", "--dataset", "mnist", "--data-dir", str(tmp_path / "m"), "--methods",
            "ros", "--folds", "2", "--profile", "smoke", "--augment", "on", "--device", "cpu"]
    # the test split is the default, and these files are the training split only
    assert main([*args, "--out", str(tmp_path / "a")]) == 2
    assert "no images file in" in capsys.readouterr().err
    assert main([*args, "--split", "train", "--out", str(tmp_path / "b")]) == 0
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["dataset"]["name"] == "mnist-train" and report["dataset"]["available"] == 240
    assert main([*args, "--split", "valid", "--out", str(tmp_path / "c")]) == 2
    assert "split must be one of ['test', 'train']; got 'valid'" in capsys.readouterr().err


def test_evaluate_reads_emnist_letters_without_its_unused_class(tmp_path, capsys):
    images, labels = image_set(16)
    write_idx_folder(tmp_path, "emnist-letters-test", images.transpose(0, 2, 1), labels + 1,
                     gz=True)   # letters are labelled 1..26; 0 is named but never used
    (tmp_path / "emnist-letters-mapping.txt").write_text(
        "".join(f"{c} {64 + c} {96 + c}\n" for c in range(1, 27)))
    args = ["evaluate", "--dataset", "emnist", "--data-dir", str(tmp_path), "--methods", "ros",
            "--folds", "2", "--profile", "smoke", "--augment", "on", "--device", "cpu"]
    assert main([*args, "--subset", "letters", "--out", str(tmp_path / "a")]) == 0
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["dataset"]["name"] == "emnist-letters-test"
    assert report["dataset"]["classes"] == list("ABCDEFGHIJ")
    assert report["dataset"]["classes_without_images"] == ["N/A", *"KLMNOPQRSTUVWXYZ"]
    assert main([*args, "--subset", "words", "--out", str(tmp_path / "b")]) == 2
    assert "subset must be one of" in capsys.readouterr().err
    assert main(["evaluate", "--dataset", "mnist", "--data-dir", str(tmp_path), "--subset",
                 "letters", "--out", str(tmp_path / "c")]) == 2
    assert "dataset 'mnist' has no 'subset' option" in capsys.readouterr().err


@pytest.mark.parametrize("write", [npz_arrays, image_folder_zip, digits],
                         ids=["npz", "zip", "digits"])
def test_a_split_is_refused_where_the_format_has_none(write, tmp_path, capsys):
    dataset_args, _ = write(tmp_path)
    assert main(["evaluate", *dataset_args, "--split", "train", "--methods", "ros",
                 "--profile", "smoke", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert ("has no 'split' option" in err or "so split='train' does not apply" in err)
    assert "TypeError" not in err
    assert not (tmp_path / "out").exists()


def test_evaluate_resizes_an_image_folder_of_mixed_sizes(tmp_path, capsys):
    write_png_tree(tmp_path / "pngs", *image_set(20))
    Image.new("L", (24, 18)).save(tmp_path / "pngs" / CLASS_NAMES[0] / "odd.png")
    args = ["evaluate", "--dataset", str(tmp_path / "pngs"), "--methods", "ros", "--folds", "2",
            "--profile", "smoke", "--augment", "on", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 2
    assert "images must share one size" in capsys.readouterr().err
    assert main([*args, "--size", "16x16", "--out", str(tmp_path / "b")]) == 0
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["dataset"]["image_shape"] == [16, 16]
    assert report["dataset"]["available"] == N_CLASSES * PER_CLASS + 1
    for bad, message in (("16", "size must be a (height, width) pair; got ('16',)"),
                         ("0x16", "size must be positive")):
        assert main([*args, "--size", bad, "--out", str(tmp_path / bad)]) == 2
        assert message in capsys.readouterr().err
    assert main(["evaluate", "--dataset", "digits", "--size", "8x8", "--methods", "ros",
                 "--out", str(tmp_path / "d")]) == 2
    assert "the digits dataset has no 'size' option; it takes none." in capsys.readouterr().err
