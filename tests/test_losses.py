import pytest
import torch

from deepclsmote import losses


def _clustered(scale: float):
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g) * 3
    labels = torch.arange(4).repeat_interleave(10)
    z = centres[labels] + torch.randn(40, 16, generator=g)
    return z * scale + 5.0, labels


def _terms(z, labels):
    u = losses.standardise(z)
    mu, present = losses.class_means(u, labels, 4)
    return losses.compactness(u, labels, mu), losses.separation(mu, present, eps=0.1)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_class_latent_terms_do_not_depend_on_the_latent_scale(scale):
    ref = _terms(*_clustered(1.0))
    got = _terms(*_clustered(scale))
    for a, b in zip(ref, got, strict=True):
        assert torch.allclose(a, b, rtol=1e-4)


def test_compact_classes_score_lower_and_separated_centroids_score_lower():
    z, labels = _clustered(1.0)
    centres = torch.stack([z[labels == k].mean(0) for k in range(4)])
    tighter = centres[labels] + 0.2 * (z - centres[labels])
    c_loose, s_loose = _terms(z, labels)
    c_tight, s_tight = _terms(tighter, labels)
    assert c_tight < c_loose
    assert s_tight < s_loose  # relative to the spread, the centroids are further apart


def test_separation_of_identical_centroids_has_finite_gradient():
    c = torch.zeros(3, 5, requires_grad=True)
    s = losses.separation(c, torch.ones(3, dtype=torch.bool), eps=0.1)
    s.backward()
    assert torch.isfinite(c.grad).all()
    assert s.item() == pytest.approx(10.0)


def test_separation_needs_two_classes():
    c = torch.randn(3, 5)
    present = torch.tensor([True, False, False])
    assert losses.separation(c, present, eps=0.1).item() == 0.0


class _Echo(torch.nn.Module):
    def forward(self, z):
        return z


def test_penalty_readings_differ_as_the_paper_and_the_code_do():
    codes = torch.arange(6.0).reshape(3, 2).requires_grad_()
    images = codes.detach().clone()
    # The code's reading compares a permuted decoding with permuted targets: an
    # identity decoder reconstructs them perfectly and no gradient reaches codes.
    code = losses.permutation_penalty(_Echo(), codes, images, "code")
    assert code.item() == 0.0 and not code.requires_grad
    # The paper's reading compares each image with another image's decoding.
    paper = losses.permutation_penalty(_Echo(), codes, images, "paper")
    assert paper.item() > 0 and paper.requires_grad
    with pytest.raises(ValueError, match="penalty must be one of"):
        losses.permutation_penalty(_Echo(), codes, images, "other")


def test_separation_masks_absent_classes_as_indexing_them_away_would():
    """The masked form (no data-dependent shapes) equals the mean over present pairs."""
    g = torch.Generator().manual_seed(1)
    c = torch.randn(6, 8, generator=g, requires_grad=True)
    present = torch.tensor([True, False, True, True, False, True])
    kept = c[present]
    d2 = (kept.unsqueeze(0) - kept.unsqueeze(1)).pow(2).sum(2) / 8
    off = ~torch.eye(4, dtype=torch.bool)
    expected = (1.0 / (d2[off] + 0.1)).mean()
    got = losses.separation(c, present, eps=0.1)
    assert torch.allclose(got, expected, rtol=1e-6)
    got.backward()
    assert torch.equal(c.grad[~present], torch.zeros(2, 8))  # absent classes get no pull
    assert c.grad[present].abs().sum() > 0


def test_class_means_count_each_label_once():
    u = torch.arange(10.0).reshape(5, 2)
    mu, present = losses.class_means(u, torch.tensor([2, 0, 2, 2, 0]), 4)
    assert present.tolist() == [True, False, True, False]
    assert torch.allclose(mu, torch.tensor([[5.0, 6.0], [0, 0], [10 / 3, 13 / 3], [0, 0]]))


def test_the_penalty_pair_is_what_the_penalty_decodes():
    codes = torch.randn(4, 3, requires_grad=True)
    images = torch.randn(4, 1, 2, 2)
    for mode in ("code", "paper"):
        shifted, targets = losses.permutation_pair(codes, images, mode)
        assert torch.equal(shifted, torch.roll(codes, -1, 0))
        assert shifted.requires_grad == (mode == "paper")
        assert torch.equal(targets, torch.roll(images, -1, 0) if mode == "code" else images)
    with pytest.raises(ValueError, match="penalty must be one of"):
        losses.permutation_pair(codes, images, "other")
