import numpy as np
import pytest

from deepclsmote.datasets import DatasetFormatError, load_csv, load_npz

FASHION = "fashion-mnist-1000/"


def test_fashion_csv_and_npz_agree(shared):
    from_csv = load_csv(shared(FASHION + "fashion-mnist_test_subset1000.csv"))
    from_npz = load_npz(shared(FASHION + "fashion_mnist_test_subset1000.npz"))
    assert from_csv.images.shape == (1000, 28, 28) and from_csv.images.dtype == np.uint8
    np.testing.assert_array_equal(from_csv.images, from_npz.images)
    np.testing.assert_array_equal(from_csv.labels, from_npz.labels)
    assert from_npz.classes[:2] == ["T-shirt/top", "Trouser"]
    assert from_csv.classes == [str(i) for i in range(10)]
    assert 83 <= from_npz.counts().min() and from_npz.counts().max() <= 114


def write_csv(path, rows, header=True):
    lines = [",".join(map(str, row)) for row in rows]
    if header:
        lines.insert(0, ",".join(["label"] + [f"pixel{i}" for i in range(1, len(rows[0]))]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_without_header_and_with_shape(tmp_path):
    rows = [[3] + list(range(6)), [1] + [255] * 6]
    ds = load_csv(write_csv(tmp_path / "a.csv", rows, header=False), image_shape=(2, 3))
    assert ds.images.shape == (2, 2, 3) and ds.images[0].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert ds.labels.tolist() == [3, 1] and ds.classes == ["0", "1", "2", "3"]
    colour = load_csv(write_csv(tmp_path / "c.csv", [[0] + [9] * 12]), image_shape=(2, 2, 3))
    assert colour.images.shape == (1, 2, 2, 3)


def test_csv_string_labels_and_float_pixels(tmp_path):
    rows = [["dog", 0.0, 0.5, 1.0, 1.0], ["cat", 0, 0, 0, 0], ["dog", 1, 1, 1, 1]]
    ds = load_csv(write_csv(tmp_path / "s.csv", rows))
    assert ds.classes == ["cat", "dog"] and ds.labels.tolist() == [1, 0, 1]
    assert ds.images[0].tolist() == [[0, 128], [255, 255]]  # floats in [0, 1] scaled


@pytest.mark.parametrize(
    ("rows", "kwargs", "match"),
    [
        ([[0, 1, 2, 3, 4], [1, 1, 2, 3]], {}, r"w\.csv:3: 4 fields, but the header has 5"),
        ([[0, 1, 2, 3]], {}, "3 pixels, not a square image; pass image_shape"),
        ([[0, 1, 2, 3, 300]], {}, "pixels must lie in 0..255"),
        ([[0, 1, 2, 3, -1]], {}, "from -1 to 3"),
        ([[0, 1, "x", 3, 4]], {}, "pixels must be numbers"),
        ([[0.5, 1, 2, 3, 4]], {}, "labels must be integers or strings"),
    ],
)
def test_bad_csv_refused(tmp_path, rows, kwargs, match):
    with pytest.raises(DatasetFormatError, match=match):
        load_csv(write_csv(tmp_path / "w.csv", rows), **kwargs)


def test_csv_without_header_names_the_row(tmp_path):
    path = write_csv(tmp_path / "w.csv", [[0, 1, 2, 3, 4], [1, 1, 2, 3, 4], [0, 1]], header=False)
    with pytest.raises(DatasetFormatError, match=r"w\.csv:3: 2 fields, but line 1 has 5"):
        load_csv(path)


def test_csv_bad_image_shape(tmp_path):
    with pytest.raises(ValueError, match=r"image_shape must be .* with 4 pixels"):
        load_csv(write_csv(tmp_path / "w.csv", [[0, 1, 2, 3, 4]]), image_shape=(3, 3))


def test_npz_x_y_keys_and_string_labels(tmp_path):
    images = np.random.default_rng(0).random((3, 4, 4, 1))
    np.savez(tmp_path / "a.npz", X=images, y=np.array(["b", "a", "b"]))
    ds = load_npz(tmp_path / "a.npz")
    assert ds.images.shape == (3, 4, 4) and ds.classes == ["a", "b"]
    assert ds.labels.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(ds.images, np.rint(images[..., 0] * 255))


def test_npz_string_labels_follow_stored_classes(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 3, 3), np.uint8),
             labels=np.array([b"z", b"y"]), classes=np.array(["z", "y"]))
    assert load_npz(tmp_path / "a.npz").labels.tolist() == [0, 1]


def test_npz_needing_pickle_refused(tmp_path):
    labels = np.empty(2, dtype=object)
    labels[:] = [{"a": 1}, {"b": 2}]
    np.savez(tmp_path / "obj.npz", images=np.zeros((2, 3, 3), np.uint8), labels=labels)
    with pytest.raises(DatasetFormatError, match="'labels' holds Python objects"):
        load_npz(tmp_path / "obj.npz")


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"pixels": np.zeros((2, 3, 3)), "labels": np.zeros(2)}, r"got \['labels', 'pixels'\]"),
        ({"images": np.zeros((2, 3, 3), np.uint8), "labels": np.zeros(3, int)}, "2 images but 3"),
        ({"images": np.full((1, 3, 3), 2.5), "labels": [0]}, None),
        ({"images": np.full((1, 3, 3), 256.0), "labels": [0]}, "pixels must lie in 0..255"),
        ({"images": np.full((1, 3, 3), np.nan), "labels": [0]}, "must be finite"),
        ({"images": np.zeros((1, 3, 3), np.uint8), "labels": [0], "classes": [1]},
         "'classes' must be a 1-D array of strings"),
        ({"images": np.zeros((1, 3, 3), np.uint8), "labels": ["q"], "classes": ["a"]},
         r"labels \['q'\] are not among \['a'\]"),
    ],
)
def test_npz_contents_checked(tmp_path, arrays, match):
    np.savez(tmp_path / "a.npz", **arrays)
    if match is None:  # floats in 0..255 are rounded, not scaled
        assert load_npz(tmp_path / "a.npz").images[0, 0, 0] == 2
        return
    with pytest.raises(DatasetFormatError, match=match):
        load_npz(tmp_path / "a.npz")


def test_npy_and_pickles_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(DatasetFormatError, match="single array"):
        load_npz(tmp_path / "a.npy")
    (tmp_path / "p.npz").write_bytes(b"\x80\x04K\x01.")  # a pickle of the int 1
    with pytest.raises(DatasetFormatError, match="readable without pickle"):
        load_npz(tmp_path / "p.npz")


def test_npz_layouts_nhwc_nchw_and_flat_rows(tmp_path):
    rng = np.random.default_rng(0)
    nhwc = rng.integers(0, 256, (4, 10, 12, 3), dtype=np.uint8)
    np.savez(tmp_path / "nhwc.npz", images=nhwc, labels=[0, 1, 0, 1])
    np.savez(tmp_path / "nchw.npz", images=nhwc.transpose(0, 3, 1, 2), labels=[0, 1, 0, 1])
    np.savez(tmp_path / "flat.npz", X=nhwc.reshape(4, -1), y=[0, 1, 0, 1],
             image_shape=np.array([10, 12, 3]))
    np.savez(tmp_path / "square.npz", X=nhwc[..., 0].reshape(4, -1)[:, :100], y=[0, 1, 0, 1])
    for name in ("nhwc", "nchw", "flat"):
        ds = load_npz(tmp_path / f"{name}.npz")
        np.testing.assert_array_equal(ds.images, nhwc)
    assert load_npz(tmp_path / "nhwc.npz").conversions == ()
    assert [c.detail for c in load_npz(tmp_path / "nchw.npz").conversions] == [
        "images stored channels first (N, C, H, W) were transposed to channels last "
        "(N, H, W, C)"]
    assert [c.detail for c in load_npz(tmp_path / "flat.npz").conversions] == [
        "rows of 360 values read as 10x12x3 images (channels last)"]
    square = load_npz(tmp_path / "square.npz")
    assert square.images.shape == (4, 10, 10)
    assert load_npz(tmp_path / "flat.npz", image_shape=(10, 36)).images.shape == (4, 10, 36)


@pytest.mark.parametrize(("arrays", "match"), [
    ({"images": np.zeros((2, 3, 8, 3), np.uint8)}, r"could be either a channel axis"),
    ({"images": np.zeros((2, 5, 8, 8), np.uint8)}, r"has neither a channel axis"),
    ({"images": np.zeros((2, 65), np.uint8)}, r"rows of 65 values are not a square grey or RGB"),
    ({"images": np.zeros((2, 64), np.uint8), "image_shape": np.array([4, 4])},
     r"image_shape must be .* and 64 values in all; got \[4, 4\]"),
])
def test_npz_layouts_refused(tmp_path, arrays, match):
    np.savez(tmp_path / "a.npz", labels=[0, 1], **arrays)
    with pytest.raises(DatasetFormatError, match=match):
        load_npz(tmp_path / "a.npz")


def test_npz_size_and_mode_and_float_pixels_are_recorded(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.full((2, 8, 8), 0.5), labels=[0, 1])
    ds = load_npz(tmp_path / "a.npz", size=(16, 12), mode="RGB")
    assert ds.images.shape == (2, 16, 12, 3) and ds.images.max() == 128
    assert [c.kind for c in ds.conversions] == ["pixels", "resize", "mode"]
    assert ds.conversions[0].detail == "float64 pixels scaled from [0, 1] to 0..255 and rounded"


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


PIX = ",".join(["7"] * 4)


@pytest.mark.parametrize(("lines", "header", "n_images", "why"), [
    # A header of names; a header of column numbers past 255; a word over numbers.
    (["label,p1,p2,p3,p4", f"0,{PIX}", f"1,{PIX}"], True, 2, "hold names"),
    (["label," + ",".join(map(str, range(300, 304))), f"0,{PIX}"], True, 1, None),
    (["label,1,2,3,4", f"0,{PIX}", f"1,{PIX}"], True, 2, "where every other row has a number"),
    # Numbers only; a class name that labels other rows too (the row lost before).
    ([f"3,{PIX}", f"1,{PIX}"], False, 2, "it holds numbers only"),
    ([f"cat,{PIX}", f"dog,{PIX}", f"cat,{PIX}"], False, 3, "the label of other rows too"),
])
def test_csv_header_told_from_the_file_and_recorded(tmp_path, lines, header, n_images, why):
    ds = load_csv(write_lines(tmp_path / "h.csv", lines))
    assert len(ds) == n_images
    note = ds.conversions[0]
    assert note.kind == "header" and note.count == int(header)
    assert ("read as a header" if header else "read as data") in note.detail
    if why:
        assert why in note.detail


def test_an_ambiguous_header_is_asked_for_and_never_guessed(tmp_path):
    from deepclsmote.datasets import NeedsOption

    path = write_lines(tmp_path / "h.csv", [f"kind,{PIX}", f"cat,{PIX}", "", f"dog,{PIX}"])
    with pytest.raises(NeedsOption, match=r"cannot tell whether the first row \(kind,7,7,\.\.\.\) "
                                          r"is a header .* pass header=True") as caught:
        load_csv(path)
    assert caught.value.options == ("header",)
    as_data = load_csv(path, header=False)
    assert as_data.classes == ["cat", "dog", "kind"] and len(as_data) == 3
    assert [c.detail for c in as_data.conversions] == [
        "the first row (kind,7,7,...) was read as data, an image: header=false was given",
        "1 blank line(s) skipped"]
    assert len(load_csv(path, header=True)) == 2
