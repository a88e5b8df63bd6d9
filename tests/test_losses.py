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
