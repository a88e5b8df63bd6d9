import math

import pytest
import torch

from ganlib import losses as L


def test_minimax_d_loss_at_logits_zero_is_two_ln_two():
    zeros = torch.zeros(7)
    assert L.d_cross_entropy(zeros, zeros).item() == pytest.approx(2 * math.log(2), rel=1e-6)


def test_cross_entropy_matches_the_formula_on_probabilities():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 0.2, 1.0])
    pr, pf = torch.sigmoid(real), torch.sigmoid(fake)
    expect = -(pr.log().mean() + (1 - pf).log().mean())
    assert L.d_cross_entropy(real, fake).item() == pytest.approx(expect.item(), rel=1e-6)
    # one-sided label smoothing: only the real target moves to 0.9
    smooth = -(0.9 * pr.log() + 0.1 * (1 - pr).log()).mean() - (1 - pf).log().mean()
    assert L.d_cross_entropy(real, fake, 0.9).item() == pytest.approx(smooth.item(), rel=1e-6)
    assert L.g_minimax(fake).item() == pytest.approx((1 - pf).log().mean().item(), rel=1e-6)
    assert L.g_non_saturating(fake).item() == pytest.approx(-pf.log().mean().item(), rel=1e-6)


def test_saturating_gradient_vanishes_where_non_saturating_does_not():
    t = torch.tensor([-12.0, -8.0, -4.0], requires_grad=True)  # D(G(z)) from 6e-6 to 0.018
    (g_sat,) = torch.autograd.grad(L.g_minimax(t) * 3, t)          # per-sample gradient (mean over 3)
    (g_ns,) = torch.autograd.grad(L.g_non_saturating(t) * 3, t)
    # closed forms: d/dt log(1 - sigmoid t) = -sigmoid(t); d/dt -log sigmoid t = -(1 - sigmoid t)
    torch.testing.assert_close(g_sat, -torch.sigmoid(t.detach()))
    torch.testing.assert_close(g_ns, -(1 - torch.sigmoid(t.detach())))
    assert g_sat.abs().max() < 0.02 and g_ns.abs().min() > 0.98


def test_losses_are_found_by_name_and_unknown_names_list_the_valid_ones():
    assert L.get("non-saturating").g is L.g_non_saturating
    with pytest.raises(KeyError, match="minimax, non-saturating"):
        L.get("nonsaturating")


# ---------------------------------------------------------------- DiffAugment (Zhao et al. 2020)
def _dot_images(n=6, side=16):
    """n images (n, 1, side, side) at -1 with one bright pixel at the centre."""
    x = -torch.ones(n, 1, side, side)
    x[:, :, side // 2, side // 2] = 1.0
    return x


def test_translate_moves_each_image_by_a_whole_shift_within_the_ratio():
    x = _dot_images()
    out = L.translate(x, torch.Generator().manual_seed(0), ratio=0.25)  # up to 4 px on 16 px
    assert out.shape == x.shape
    for img in out[:, 0]:
        (i, j), = (img == 1).nonzero().tolist()  # the dot survived, once, as a pure move
        assert abs(i - 8) <= 4 and abs(j - 8) <= 4
        assert (img == -1).sum() == 16 * 16 - 1  # pixels moved in from outside are the background
    moved = torch.stack([(o == 1).nonzero()[0] for o in out]) - 8
    assert (moved != 0).any()  # shifts are drawn per image, not all zero


def test_cutout_blanks_one_square_of_half_the_side():
    x = torch.ones(50, 1, 16, 16)
    out = L.cutout(x, torch.Generator().manual_seed(0))
    blank = (out == -1).sum((1, 2, 3))
    assert blank.max() == 8 * 8 and blank.min() > 0  # 8x8 when inside, less when it sticks out
    rows = (out[:, 0] == -1).any(2).sum(1)
    assert rows.max() == 8


def test_diff_augment_is_differentiable_random_per_call_and_checks_its_policy():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 1, 32, 32, requires_grad=True)
    out = L.diff_augment(x, "translation,cutout", g)
    out.sum().backward()
    assert out.shape == x.shape and 0 < x.grad.abs().sum() < x.numel()  # gradient flows, not where cut out
    assert not torch.equal(L.diff_augment(x, "translation", g), L.diff_augment(x, "translation", g))
    same = [L.diff_augment(x, "cutout", torch.Generator().manual_seed(3)) for _ in range(2)]
    assert torch.equal(*same)  # the run's generator decides: a resumed run augments alike
    assert L.diff_augment(x, "") is x
    with pytest.raises(ValueError, match="Unknown augmentation 'flip'"):
        L.diff_augment(x, "translation,flip", g)


# ---------------------------------------------------------------- loss terms of the conditional GAN
def test_matching_aware_loss_by_hand():
    """(loss.d(real, fake) + loss.d(real, mismatch)) / 2: for cross-entropy,
    -log D(x|y) - 1/2 log(1 - D(G(z)|y')) - 1/2 log(1 - D(x|wrong))."""
    real = torch.tensor([0.0, math.log(3.0)])        # D(x|y) = 1/2, 3/4
    fake = torch.tensor([-math.log(3.0), 0.0])       # D(G(z)|y') = 1/4, 1/2
    mismatch = torch.tensor([math.log(3.0), -math.log(3.0)])  # D(x|wrong) = 3/4, 1/4
    expect = (-(math.log(1 / 2) + math.log(3 / 4)) / 2
              - 0.5 * (math.log(3 / 4) + math.log(1 / 2)) / 2
              - 0.5 * (math.log(1 / 4) + math.log(3 / 4)) / 2)
    got = L.matching_aware(L.get("non-saturating"), real, fake, mismatch)
    assert got.item() == pytest.approx(expect, rel=1e-6)
    # the real target moves with label smoothing, the two kinds of negatives do not
    smooth = L.matching_aware(L.get("minimax"), real, fake, mismatch, real_label=0.9)
    pr = torch.sigmoid(real)
    shift = -(0.9 * pr.log() + 0.1 * (1 - pr).log()).mean().item() + (pr.log().mean().item())
    assert smooth.item() == pytest.approx(expect + shift, rel=1e-6)
    # any loss: the mean of its D loss against the fakes and against the mismatched pairs
    lsgan = L.get("lsgan")
    assert L.matching_aware(lsgan, real, fake, mismatch).item() == pytest.approx(
        0.5 * (lsgan.d(real, fake).item() + lsgan.d(real, mismatch).item()), rel=1e-6)
    # with mismatched pairs judged like fakes it is the plain loss
    plain = L.get("non-saturating").d(real, fake)
    assert L.matching_aware(L.get("non-saturating"), real, fake, fake).item() == pytest.approx(plain.item(), rel=1e-6)


def test_wrong_labels_are_never_right_and_uniform_over_the_others():
    y = torch.arange(10).repeat(900)
    wrong = L.wrong_labels(y, 10, torch.Generator().manual_seed(0))
    assert wrong.shape == y.shape and wrong.dtype == y.dtype
    assert (wrong != y).all() and wrong.min() >= 0 and wrong.max() <= 9
    for c in range(10):  # each class's 900 wrong labels spread evenly over the nine others (100 expected each)
        counts = torch.bincount(wrong[y == c], minlength=10)
        assert counts[c] == 0 and counts.sum() == 900
        assert (counts[torch.arange(10) != c] - 100).abs().max() < 5 * math.sqrt(100 * 8 / 9)
    again = L.wrong_labels(y, 10, torch.Generator().manual_seed(0))
    assert torch.equal(wrong, again)  # the run's generator decides
    assert L.wrong_labels(torch.tensor([0, 1, 0]), 2).tolist() == [1, 0, 1]  # two classes: the other one


def test_pair_labels_pairs_sample_i_with_sample_i_plus_half():
    assert L.pair_labels(torch.tensor([3, 1, 4, 1, 5, 9, 2])).tolist() == [3, 1, 4, 3, 1, 4, 2]  # odd: last unpaired
    assert L.pair_labels(torch.tensor([7, 8, 0, 5])).tolist() == [7, 8, 7, 8]
    y = torch.randint(10, (64,), generator=torch.Generator().manual_seed(0))
    p = L.pair_labels(y)
    assert p.shape == y.shape and torch.equal(p[:32], y[:32]) and torch.equal(p[32:], y[:32])


def test_mode_seeking_term_by_hand():
    fake = torch.tensor([[0.0, 1.0], [2.0, 2.0], [1.0, 1.0], [2.0, 0.0], [9.0, 9.0]])  # 5 samples: the 5th unpaired
    z = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 2.0, 0.0], [1.0, 1.0, 3.0], [5.0, 5.0, 5.0]])
    # pairs (0, 2) and (1, 3): mean |G(z1) - G(z2)| = mean(1, 0, 0, 2) = 0.75; mean |z1 - z2| = mean(1, 2, 0, 0, 0, 2) = 5/6
    ms = 0.75 / (5 / 6)
    assert L.mode_seeking(fake, z).item() == pytest.approx(1 / (ms + 1e-5), rel=1e-6)
    assert L.mode_seeking(fake, z, weight=0.7, eps=0.1).item() == pytest.approx(0.7 / (ms + 0.1), rel=1e-6)
    # a G that ignores z (the two samples of a pair equal) is punished by about weight / eps
    same = torch.cat([fake[:2], fake[:2]])
    assert L.mode_seeking(same, z[:4], weight=1.0).item() == pytest.approx(1e5, rel=1e-6)
    # its gradient pushes the samples of a pair apart
    x = fake[:4].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(L.mode_seeking(x, z[:4]), x)
    moved = x.detach() - 0.01 * grad
    assert (moved[:2] - moved[2:]).abs().mean() > (x[:2] - x[2:]).abs().mean()
