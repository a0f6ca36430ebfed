import pytest
import torch

from deepclsmote.nn import AutoencoderConfig, build_autoencoder, default_latent_size


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(8, 8), (12, 9), (16, 16), (28, 28), (32, 32), (35, 35),
                                  (64, 64), (8, 64), (65, 65), (96, 128), (128, 128), (8, 128),
                                  (100, 77)])
def test_output_has_exactly_the_input_size(channels, size):
    cfg = AutoencoderConfig(channels, *size, dim_h=4, n_z=6)
    enc, dec = build_autoencoder(cfg)
    x = torch.rand(3, channels, *size) * 2 - 1
    z = enc(x)
    out = dec(z)
    assert z.shape == (3, 6)
    assert out.shape == x.shape
    assert out.abs().max() <= 1.0


def test_deepsmote_architecture_for_mnist():
    cfg = AutoencoderConfig(1, 28, 28, dim_h=64, n_z=300)
    enc, dec = build_autoencoder(cfg)
    convs = [m for m in enc.conv if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    assert convs[0].bias is None
    assert isinstance(enc.conv[1], torch.nn.LeakyReLU) and enc.conv[1].negative_slope == 0.2
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in enc.conv) == 3
    assert enc.fc.out_features == 300
    deconvs = [m for m in dec.deconv if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [d.out_channels for d in deconvs] == [256, 128, 64, 1]
    assert isinstance(dec.deconv[-1], torch.nn.Tanh)


def test_small_images_use_three_stages_and_large_ones_five():
    assert AutoencoderConfig(1, 8, 8).n_stages == 3
    assert AutoencoderConfig(1, 16, 16).n_stages == 4
    assert AutoencoderConfig(1, 64, 64).n_stages == 4
    assert AutoencoderConfig(1, 65, 128).n_stages == 5


def test_the_fifth_stage_keeps_the_bottleneck_of_64_pixels():
    big = AutoencoderConfig(3, 128, 128, dim_h=64, n_z=600)
    enc, dec = build_autoencoder(big)
    convs = [m for m in enc.conv if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 512]
    deconvs = [m for m in dec.deconv if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [d.out_channels for d in deconvs] == [512, 256, 128, 64, 3]
    small = AutoencoderConfig(3, 64, 64, dim_h=64, n_z=600)
    assert big.bottleneck == small.bottleneck == (512, 4, 4)
    assert enc.fc.in_features == build_autoencoder(small)[0].fc.in_features


def test_paper_latent_sizes():
    assert default_latent_size(1) == 300 and default_latent_size(3) == 600
