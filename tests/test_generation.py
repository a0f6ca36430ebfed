import pytest
import torch

from deepclsmote import generation
from deepclsmote.nn import AutoencoderConfig, Decoder


def test_neighbours_exclude_self_and_are_nearest(monkeypatch):
    monkeypatch.setattr(generation, "_KNN_CHUNK", 7)  # exercise the chunked path
    g = torch.Generator().manual_seed(0)
    codes = torch.randn(20, 3, generator=g)
    nbrs = generation.class_neighbours(codes, 4)
    d = torch.cdist(codes, codes)
    d.fill_diagonal_(float("inf"))
    expected = d.topk(4, largest=False).indices
    assert torch.equal(nbrs.sort(1).values, expected.sort(1).values)
    assert not (nbrs == torch.arange(20).unsqueeze(1)).any()


def test_new_codes_lie_between_a_base_and_one_of_its_neighbours():
    g = torch.Generator().manual_seed(1)
    codes = torch.randn(12, 5, generator=g)
    z, base = generation.interpolate(codes, 3, 200, torch.Generator().manual_seed(2))
    nbrs = generation.class_neighbours(codes, 3)
    for zi, bi in zip(z, base, strict=True):
        on_segment = False
        for ni in nbrs[bi]:
            seg = codes[ni] - codes[bi]
            u = torch.dot(zi - codes[bi], seg) / torch.dot(seg, seg)
            if 0 <= u <= 1 and torch.allclose(codes[bi] + u * seg, zi, atol=1e-5):
                on_segment = True
        assert on_segment


def test_residual_decoding_keeps_the_base_image_when_the_code_is_the_base():
    dec = Decoder(AutoencoderConfig(1, 8, 8, dim_h=4, n_z=6))
    z = torch.randn(5, 6)
    x_base = torch.rand(5, 1, 8, 8) * 2 - 1
    out = generation.decode(dec, z, decoding="residual", z_base=z, x_base=x_base, batch_size=2)
    assert torch.allclose(out, x_base, atol=1e-6)
    direct = generation.decode(dec, z, decoding="direct")
    assert direct.shape == (5, 1, 8, 8)
    with pytest.raises(ValueError, match="decoding must be one of"):
        generation.decode(dec, z, decoding="sideways")


def test_direct_decoding_ignores_the_bases():
    dec = Decoder(AutoencoderConfig(1, 8, 8, dim_h=4, n_z=6))
    z = torch.randn(4, 6)
    x_base = torch.zeros(4, 1, 8, 8)
    a = generation.decode(dec, z, decoding="direct")
    b = generation.decode(dec, z, decoding="direct", z_base=z * 0, x_base=x_base)
    assert torch.equal(a, b)


def test_neighbour_steps_go_from_each_code_to_its_nearest_classmate():
    codes = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0],    # class 0 along x
                          [0.0, 10.0], [0.0, 12.0],               # class 1 along y
                          [9.0, 9.0]])                            # class 2: one code, no step
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    steps = generation.neighbour_steps(codes, labels)
    expected = {(1.0, 0.0), (-1.0, 0.0), (-4.0, 0.0), (0.0, 2.0), (0.0, -2.0)}
    assert {tuple(s.tolist()) for s in steps} == expected
    with pytest.raises(ValueError, match="at least 2 images"):
        generation.neighbour_steps(codes[[0, 3]], torch.tensor([0, 1]))


def test_transfer_moves_a_small_class_along_the_large_classes_steps():
    # The small class only varies along y; the large one along x. Transfer must
    # give the small class new codes off its own line, each base + u * a step.
    g = torch.Generator().manual_seed(0)
    large = torch.stack([torch.randn(50, generator=g), torch.zeros(50)], 1)
    small = torch.tensor([[3.0, 0.0], [3.0, 1.0]])
    codes, labels = torch.cat([large, small]), torch.tensor([0] * 50 + [1] * 2)
    steps = generation.neighbour_steps(codes, labels)
    z, base = generation.transfer(small, steps, 300, torch.Generator().manual_seed(1))
    assert z.shape == (300, 2) and base.shape == (300,)
    moved = z - small[base]
    assert any(torch.allclose(m, u * s, atol=1e-6) for m in moved[:5] for s in steps
               for u in [torch.dot(m, s) / torch.dot(s, s).clamp_min(1e-12)])
    assert (moved[:, 0].abs() > 1e-3).float().mean() > 0.5   # off the small class's own line
    smote, _ = generation.interpolate(small, 1, 300, torch.Generator().manual_seed(1))
    assert torch.allclose(smote[:, 0], torch.full((300,), 3.0))  # SMOTE stays on it


@pytest.mark.parametrize("draw", ["interpolate", "transfer"])
def test_step_scale_stretches_u_and_leaves_the_default_draw_alone(draw):
    g = torch.Generator().manual_seed(0)
    codes = torch.randn(40, 3, generator=g)
    steps = generation.neighbour_steps(codes, torch.zeros(40, dtype=torch.long))

    def run(**kw):
        gen = torch.Generator().manual_seed(5)
        if draw == "transfer":
            return generation.transfer(codes, steps, 2000, gen, **kw)
        return generation.interpolate(codes, 4, 2000, gen, **kw)

    z1, b1 = run()
    z_default, _ = run(step_scale=1.0)
    z2, b2 = run(step_scale=2.0)
    assert torch.equal(z1, z_default) and torch.equal(b1, b2)   # 1.0 is exactly the old draw
    # Same bases, same u draws: every move doubles.
    assert torch.allclose(z2 - codes[b2], 2 * (z1 - codes[b1]), atol=1e-5)
    if draw == "interpolate":   # past the neighbour: some codes leave the segment
        nbrs = generation.class_neighbours(codes, 4)
        far = ((z2 - codes[b2]).norm(dim=1)
               > (codes[nbrs[b2]] - codes[b2][:, None]).norm(dim=2).max(1).values + 1e-6)
        assert far.any() and not ((z1 - codes[b1]).norm(dim=1)
                                  > (codes[nbrs[b1]] - codes[b1][:, None]).norm(dim=2)
                                  .max(1).values + 1e-6).any()


def test_foreground_mask_covers_the_object_grown_by_the_margin():
    x = -torch.ones(2, 3, 9, 9)
    x[0, 1, 4, 4] = 0.0              # one bright pixel, in one channel only
    x[0, 0, 0, 0] = -0.85            # darker than a tenth of the range: background
    m0, m1 = generation.foreground(x, 0), generation.foreground(x, 1)
    assert m0.shape == (2, 1, 9, 9) and m0.sum() == 1 and m0[0, 0, 4, 4] == 1
    assert m1.sum() == 9 and m1[0, 0, 3:6, 3:6].eq(1).all()
    assert generation.foreground(x, 2).sum() == 25 and not m1[1].any()


def test_residual_change_is_kept_on_the_foreground_only():
    torch.manual_seed(0)
    dec = Decoder(AutoencoderConfig(1, 28, 28, 4, 8))
    z_base, z = torch.randn(6, 8), torch.randn(6, 8)
    x_base = -torch.ones(6, 1, 28, 28)
    x_base[:, :, 10:18, 10:18] = 0.5                 # an object on a black background
    free = generation.decode(dec, z, decoding="residual", z_base=z_base, x_base=x_base)
    kept = generation.decode(dec, z, decoding="residual", z_base=z_base, x_base=x_base,
                             foreground_margin=2)
    inside = torch.zeros(28, 28, dtype=torch.bool)
    inside[8:20, 8:20] = True                        # the object grown by 2 pixels
    assert torch.equal(kept[..., inside], free[..., inside])
    assert torch.equal(kept[..., ~inside], x_base[..., ~inside])
    assert not torch.equal(free[..., ~inside], x_base[..., ~inside])
