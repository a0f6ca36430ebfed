import numpy as np
import pytest

from deepclsmote import _validation as v


@pytest.mark.parametrize(
    ("shape", "layout", "chw"),
    [
        ((5, 28, 28), "NHW", (1, 28, 28)),
        ((5, 28, 28, 1), "NHWC", (1, 28, 28)),
        ((5, 32, 32, 3), "NHWC", (3, 32, 32)),
        ((5, 1, 28, 28), "NCHW", (1, 28, 28)),
        ((5, 3, 35, 35), "NCHW", (3, 35, 35)),
        ((5, 64), "flat", (1, 8, 8)),
        ((5, 3072), "flat", (3, 32, 32)),
    ],
)
def test_layouts_are_detected_and_round_trip(shape, layout, chw):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=shape, dtype=np.uint8)
    X_checked, spec = v.check_images(X)
    assert (spec.layout, spec.chw) == (layout, chw)
    nchw = v.to_nchw(X_checked, spec)
    assert nchw.shape == (5, *chw) and nchw.dtype == np.float32
    back = v.from_nchw(v.scale_from_unit(v.scale_to_unit(nchw, spec), spec), spec)
    assert back.dtype == X.dtype and back.shape == X.shape
    np.testing.assert_array_equal(back, X)


def test_flat_rows_with_explicit_shape():
    X = np.zeros((4, 10 * 12), np.float32)
    X[0, 0] = 1
    _, spec = v.check_images(X, image_shape=(10, 12))
    assert spec.chw == (1, 10, 12)
    with pytest.raises(ValueError, match="holds 100 values"):
        v.check_images(X, image_shape=(10, 10))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (np.array([0, 255], np.uint8), (0.0, 255.0)),
        (np.array([0.0, 0.5], np.float32), (0.0, 1.0)),
        (np.array([-0.5, 1.0]), (-1.0, 1.0)),
        (np.array([0.0, 16.0]), (0.0, 16.0)),
        (np.array([3, 200], np.int64), (3.0, 200.0)),
    ],
)
def test_pixel_range_is_inferred(data, expected):
    X = np.resize(data, (2, 8, 8)).astype(data.dtype)
    _, spec = v.check_images(X)
    assert (spec.low, spec.high) == expected


def test_outputs_are_clipped_and_rounded_into_the_callers_range():
    spec = v.ImageSpec("NHW", 1, 8, 8, "uint8", 0.0, 255.0)
    out = v.from_nchw(np.full((1, 1, 8, 8), 300.7, np.float32), spec)
    assert out.dtype == np.uint8 and out.max() == 255


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.zeros((3, 7, 7)), ValueError, r"between 8x8 and 128x128 .* got 7x7"),
        (np.zeros((3, 129, 129)), ValueError, r"between 8x8 and 128x128 .* got 129x129"),
        (np.zeros((3, 8, 8, 2)), ValueError, "no channel axis"),
        (np.zeros((3, 8)), ValueError, "not a square"),
        (np.zeros((3,)), ValueError, "1 dimension"),
        (np.array([[[np.nan] * 8] * 8] * 2), ValueError, "non-finite"),
        (np.full((2, 8, 8), "a"), TypeError, "dtype"),
        (np.zeros((2, 8, 8), bool), TypeError, "dtype"),
        (np.full((2, 8, 8), 7.0), ValueError, "same value"),
    ],
)
def test_bad_images_get_clear_errors(X, error, match):
    with pytest.raises(error, match=match):
        v.check_images(X)


def test_label_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        v.check_labels(np.zeros(9), 10)


def test_oversampling_needs_two_images():
    with pytest.raises(ValueError, match="Class 'b' has 1 image"):
        v.check_oversampling_feasible({"a": 5, "b": 1}, {"b": 4})
    v.check_oversampling_feasible({"a": 5, "b": 1}, {"b": 0})


def test_k_shrinks_with_a_warning():
    with pytest.warns(UserWarning, match="using k_neighbors=2"):
        assert v.effective_k(5, 3, "x") == 2
    assert v.effective_k(5, 10, "x") == 5


def test_device_resolution():
    assert v.resolve_device("cpu").type == "cpu"
    assert v.resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device must be"):
        v.resolve_device("gpu-please")
