from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclsmote.datasets import load_digits
from deepclsmote.evaluation import (
    SimpleCNN,
    TrainSpec,
    augment_batch,
    build_classifier,
    imbalanced_split,
    predict,
    resnet18_small,
    train_classifier,
)

CPU = {"device": "cpu"}


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _random_images(n, size=8, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, size, size) if channels == 1 else (n, size, size, 3)
    return rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(0, 3, n).astype(np.int64)


@pytest.mark.parametrize("model_name", ["simple_cnn", "resnet18"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [8, 28, 32, 35])
def test_output_shapes(model_name, channels, size):
    net = build_classifier(model_name, in_channels=channels, n_classes=7, image_size=(size, size))
    with torch.no_grad():
        assert net.eval()(torch.zeros(2, channels, size, size)).shape == (2, 7)


def test_simple_cnn_layout():
    net = SimpleCNN(3, 10, (32, 28))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [c.out_channels for c in convs] == [32, 64]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(64 * 8 * 7, 128),
                                                                       (128, 10)]
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in net.modules())
    with pytest.raises(ValueError, match="at least 4 pixels"):
        SimpleCNN(1, 10, 3)


def test_resnet18_small_stem():
    net = resnet18_small(1, 5)
    assert net.conv1.in_channels == 1
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (1, 1)
    assert isinstance(net.maxpool, torch.nn.Identity)
    assert net.fc.out_features == 5


def test_train_and_predict_colour_images():
    X, y = _random_images(20, size=8, channels=3)
    net = train_classifier("resnet18", X, y, 3, TrainSpec(steps=2, batch_size=8, **CPU),
                           random_state=0)
    pred = predict(net, X, batch_size=7)
    assert pred.shape == (20,) and pred.dtype == np.int64
    assert set(pred.tolist()) <= {0, 1, 2}
    assert not net.training


def test_same_seed_same_predictions_and_global_rng_untouched(digits):
    X, y = digits.images[:300], digits.labels[:300]
    spec = TrainSpec(epochs=2, batch_size=32, augment=True, hflip=True, **CPU)
    before = torch.random.get_rng_state()
    a = train_classifier("simple_cnn", X, y, 10, spec, random_state=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    b = train_classifier("simple_cnn", X, y, 10, spec, random_state=5)
    c = train_classifier("simple_cnn", X, y, 10, spec, random_state=6)
    test = digits.images[300:600]
    assert np.array_equal(predict(a, test), predict(b, test))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_augmentation_changes_batch_keeps_shape_and_dtype(dtype):
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(16, 3, 10, 10, generator=gen) * 255).to(dtype)
    out = augment_batch(x, max_shift=2, hflip=True, generator=gen)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not torch.equal(out, x)
    assert torch.equal(augment_batch(x, max_shift=0, generator=gen), x)


def test_shift_moves_pixels_and_zero_pads():
    x = torch.zeros(64, 1, 9, 9)
    x[:, :, 4, 4] = 1.0  # one bright pixel in the middle
    out = augment_batch(x, max_shift=2, generator=torch.Generator().manual_seed(1))
    assert (out.sum(dim=(1, 2, 3)) == 1).all()  # nothing falls off with a 2-pixel shift
    rows, cols = torch.nonzero(out[:, 0], as_tuple=True)[1:]
    assert rows.min() == 2 and rows.max() == 6 and cols.min() == 2 and cols.max() == 6
    edge = augment_batch(torch.ones(64, 1, 9, 9), max_shift=2,
                         generator=torch.Generator().manual_seed(1))
    assert (edge == 0).any()  # the uncovered border is zero


def test_hflip_only_flips():
    x = torch.rand(32, 1, 6, 6)
    out = augment_batch(x, max_shift=0, hflip=True, generator=torch.Generator().manual_seed(0))
    same = (out == x).flatten(1).all(1)
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    assert (same | flipped).all() and same.any() and flipped.any()


@pytest.mark.parametrize(("n", "steps", "epochs"), [(49, 7, 3), (50, 10, 3), (20, 1, 1)])
def test_steps_control_runs_exactly_steps(monkeypatch, n, steps, epochs):
    calls = []
    original = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    seen = []
    X, y = _random_images(n)
    spec = TrainSpec(epochs=100, batch_size=16, steps=steps, **CPU)
    train_classifier("simple_cnn", X, y, 3, spec, random_state=0,
                     callback=lambda e, total, loss: seen.append((e, total)))
    assert len(calls) == steps
    assert seen == [(e, epochs) for e in range(1, epochs + 1)]


@pytest.mark.parametrize(("schedule", "steps"), [("constant", 10), ("cosine", 10),
                                                 ("cosine", None)])
def test_lr_schedule_sets_each_steps_learning_rate(monkeypatch, schedule, steps):
    lrs = []
    original = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        lrs.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    X, y = _random_images(50)        # 3 full batches and one of 2 an epoch: 4 steps
    spec = TrainSpec(epochs=3, batch_size=16, lr=0.01, steps=steps, lr_schedule=schedule, **CPU)
    train_classifier("simple_cnn", X, y, 3, spec, random_state=0)
    total = steps or 12
    if schedule == "constant":
        assert lrs == [0.01] * total
    else:                            # lr (1 + cos(pi t / total)) / 2 at step t
        expected = 0.005 * (1 + np.cos(np.pi * np.arange(total) / total))
        np.testing.assert_allclose(lrs, expected, rtol=1e-6)
        assert lrs[-1] < 0.0003


def test_callback_can_stop():
    X, y = _random_images(32)
    seen = []
    train_classifier("simple_cnn", X, y, 3, TrainSpec(epochs=5, batch_size=16, **CPU),
                     random_state=0, callback=lambda e, total, loss: seen.append(loss) or False)
    assert len(seen) == 1 and np.isfinite(seen[0])


def test_simple_cnn_learns_digits(digits):
    train, test = imbalanced_split(digits.labels, [120] * 10, test="rest", random_state=0)
    spec = TrainSpec(epochs=5, batch_size=32, lr=3e-3, **CPU)
    net = train_classifier("simple_cnn", digits.images[train], digits.labels[train], 10, spec,
                           random_state=0)
    accuracy = (predict(net, digits.images[test]) == digits.labels[test]).mean()
    assert accuracy > 0.8  # chance is 0.1; about 0.97 in practice


def test_input_errors():
    X, y = _random_images(10)
    spec = TrainSpec(epochs=1, **CPU)
    with pytest.raises(TypeError, match="uint8 array of images; got float64"):
        train_classifier("simple_cnn", X / 255.0, y, 3, spec, random_state=0)
    with pytest.raises(ValueError, match=r"y must lie in 0..1"):
        train_classifier("simple_cnn", X, y, 2, spec, random_state=0)
    with pytest.raises(ValueError, match="model_name must be one of"):
        train_classifier("vgg", X, y, 3, spec, random_state=0)
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, 3\)"):
        predict(SimpleCNN(1, 3, 8), np.zeros((2, 8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match="steps must be a positive int"):
        TrainSpec(steps=0)
    with pytest.raises(ValueError, match="batch_size must be an int of at least 2"):
        TrainSpec(batch_size=1)
    with pytest.raises(ValueError, match=r"lr_schedule must be one of \['constant', 'cosine'\]; "
                                         "got 'step'"):
        TrainSpec(lr_schedule="step")
