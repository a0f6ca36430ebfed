import numpy as np
import pytest
from PIL import Image

from deepclsmote.datasets import DatasetFormatError, load_gtsrb

HEADER = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"
ROI = (5, 6, 35, 24)  # x1, y1, x2, y2 in a 40 x 30 image


def sign(folder, filename, colour) -> str:
    """A 40x30 grey image whose ROI is filled with ``colour``; returns its CSV row."""
    image = Image.new("RGB", (40, 30), (128, 128, 128))
    image.paste(colour, ROI)
    image.save(folder / filename)
    return f"{filename};40;30;{';'.join(map(str, ROI))}"


@pytest.fixture
def gtsrb(tmp_path):
    """Class 0 red (2 images), class 2 blue (1 image); a test set of one green sign."""
    images = tmp_path / "GTSRB" / "Final_Training" / "Images"
    for cls, colour, n in [(0, (255, 0, 0), 2), (2, (0, 0, 255), 1)]:
        folder = images / f"{cls:05d}"
        folder.mkdir(parents=True)
        rows = [sign(folder, f"{i:05d}_00000.ppm", colour) + f";{cls}" for i in range(n)]
        (folder / f"GT-{cls:05d}.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    test = tmp_path / "GTSRB" / "Final_Test" / "Images"
    test.mkdir(parents=True)
    gt = tmp_path / "GT-final_test.csv"
    gt.write_text(f"{HEADER}\n{sign(test, '00000.ppm', (0, 255, 0))};7\n")
    return tmp_path / "GTSRB", gt


def test_train_crops_to_the_roi(gtsrb):
    root, _ = gtsrb
    ds = load_gtsrb(root)
    assert ds.images.shape == (3, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.labels.tolist() == [0, 0, 2]
    assert len(ds.classes) == 43 and ds.counts()[[0, 2]].tolist() == [2, 1]
    # Only the ROI is kept: no grey border survives the crop.
    assert (ds.images[:2] == [255, 0, 0]).all() and (ds.images[2] == [0, 0, 255]).all()


def test_test_split_with_ground_truth_and_size(gtsrb):
    root, gt = gtsrb
    ds = load_gtsrb(root, split="test", gt_csv=gt, size=(8, 12))
    assert ds.images.shape == (1, 8, 12, 3) and ds.labels.tolist() == [7]
    assert (ds.images == [0, 255, 0]).all()
    assert ds.name == "gtsrb-test"


def test_test_split_finds_or_asks_for_ground_truth(gtsrb):
    root, gt = gtsrb
    with pytest.raises(ValueError, match="needs gt_csv"):
        load_gtsrb(root, split="test")
    (root / "Final_Test" / "GT-final_test.csv").write_text(gt.read_text())
    assert len(load_gtsrb(root, split="test")) == 1


def test_bad_rows_refused(gtsrb):
    root, gt = gtsrb
    gt.write_text(f"{HEADER}\n../../secret.ppm;40;30;5;6;35;24;7\n")
    with pytest.raises(DatasetFormatError, match="Filename must be a bare file name"):
        load_gtsrb(root, split="test", gt_csv=gt)
    gt.write_text(f"{HEADER}\n00000.ppm;40;30;5;6;45;24;7\n")
    with pytest.raises(DatasetFormatError, match=r"ROI \(5, 6, 45, 24\) does not fit"):
        load_gtsrb(root, split="test", gt_csv=gt)
    gt.write_text("Filename;ClassId\n00000.ppm;7\n")
    with pytest.raises(DatasetFormatError, match="missing"):
        load_gtsrb(root, split="test", gt_csv=gt)


def test_bad_arguments(gtsrb, tmp_path):
    root, _ = gtsrb
    with pytest.raises(ValueError, match="size must be positive"):
        load_gtsrb(root, size=(0, 32))
    with pytest.raises(FileNotFoundError, match="no class folders"):
        load_gtsrb(tmp_path)
