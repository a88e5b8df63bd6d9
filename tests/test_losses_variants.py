"""The losses of the "Variants" chapter (LSGAN, WGAN with clipping, WGAN-GP, hinge) against hand-computed
values; the weight clip; the gradient penalty with per-sample eps and per-sample norms; lookup by name.
(The two cross-entropy basics are in test_losses.py.)"""
import math
import warnings

import pytest
import torch
from torch import nn

import ganlib as gl
from ganlib import losses as L
from ganlib import train as T
from ganlib.models import PointGenerator

CPU = torch.device("cpu")


class Linear(nn.Module):
    """D(x) = <w, x_i> + b per sample, for x (B, ...) flattened: its input gradient is w for every sample."""

    def __init__(self, w, b=0.0):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32).flatten().clone())
        self.b = nn.Parameter(torch.tensor(float(b)))

    def forward(self, x, y=None):
        return x.flatten(1) @ self.w + self.b


# ---------------------------------------------------------------- hand-computed values
def test_minimax_and_non_saturating_at_hand_computed_probabilities():
    real = torch.tensor([0.0, math.log(3.0)])   # D(x) = 1/2 and 3/4
    fake = torch.tensor([-math.log(3.0)])       # D(G(z)) = 1/4
    assert L.d_cross_entropy(real, fake).item() == pytest.approx(
        -(math.log(0.5) + math.log(0.75)) / 2 - math.log(0.75), rel=1e-6)
    assert L.g_minimax(fake).item() == pytest.approx(math.log(0.75), rel=1e-6)
    assert L.g_non_saturating(fake).item() == pytest.approx(-math.log(0.25), rel=1e-6)


def test_least_squares_losses_match_source_004_by_hand():
    real, fake = torch.tensor([1.5, 0.0]), torch.tensor([0.5, -1.0])
    # l_D = 1/2 mean((0.5)^2, (-1)^2) + 1/2 mean(0.5^2, (-1)^2) = 0.3125 + 0.3125
    assert L.d_least_squares(real, fake).item() == pytest.approx(0.625, rel=1e-6)
    # with the real target at 0.9: 1/2 mean(0.6^2, 0.9^2) + 0.3125
    assert L.d_least_squares(real, fake, 0.9).item() == pytest.approx(0.2925 + 0.3125, rel=1e-6)
    # l_G = 1/2 mean((-0.5)^2, (-2)^2)
    assert L.g_least_squares(fake).item() == pytest.approx(1.0625, rel=1e-6)


def test_least_squares_generator_gradient_is_linear_in_the_score():
    fake = torch.tensor([-6.0, 0.0, 1.0], requires_grad=True)
    (grad,) = torch.autograd.grad(L.g_least_squares(fake), fake)
    # d/df 1/2 mean (f - 1)^2 = (f - 1) / B: far-off fakes get the strongest push, a real-scored one none
    torch.testing.assert_close(grad, torch.tensor([-7.0, -1.0, 0.0]) / 3)


def test_wasserstein_losses_by_hand():
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([-2.0, 0.5, 0.0])
    # mean f(G(z)) - mean f(x) = (-1.5 / 3) - (4 / 2)
    assert L.d_wasserstein(real, fake).item() == pytest.approx(-2.5, rel=1e-6)
    assert L.d_wasserstein(real, fake, 0.9).item() == pytest.approx(-2.5, rel=1e-6)  # a critic has no labels
    assert L.g_wasserstein(fake).item() == pytest.approx(0.5, rel=1e-6)
    # the critic's loss is unbounded: shifting every score by c changes nothing, scaling scales it
    assert L.d_wasserstein(real + 7, fake + 7).item() == pytest.approx(L.d_wasserstein(real, fake).item(), abs=1e-5)
    assert L.d_wasserstein(3 * real, 3 * fake).item() == pytest.approx(3 * L.d_wasserstein(real, fake).item())


def test_hinge_by_hand_and_zero_gradient_beyond_the_margin():
    real = torch.tensor([2.0, 0.5, -1.0], requires_grad=True)
    fake = torch.tensor([-3.0, -0.5, 1.0], requires_grad=True)
    loss = L.d_hinge(real, fake)  # mean(0, 0.5, 2) + mean(0, 0.5, 2)
    assert loss.item() == pytest.approx(5.0 / 3, rel=1e-6)
    g_real, g_fake = torch.autograd.grad(loss, (real, fake))
    torch.testing.assert_close(g_real, torch.tensor([0.0, -1.0, -1.0]) / 3)
    torch.testing.assert_close(g_fake, torch.tensor([0.0, 1.0, 1.0]) / 3)
    assert L.get("hinge").g(fake).item() == pytest.approx(2.5 / 3, rel=1e-6)  # -mean D(G(z))


# ---------------------------------------------------------------- the WGAN weight clip
def _run(D, loss, b=6):
    """A Run with a small point G, ``D`` and ``loss`` (D's own optimiser is passed to each step)."""
    g = torch.Generator().manual_seed(0)
    data = gl.data.TensorData(torch.randn(b, 2, generator=g))
    cfg = gl.Config(arch="toy2d", nz=2, loss=loss, batch_size=b, seed=0)
    torch.manual_seed(0)  # the same G every time
    return T.new_run(cfg, PointGenerator(nz=2, width=8, depth=1), D, data, device=CPU), data


def _d_step(D, loss, opt, b=6):
    run, data = _run(D, loss, b)
    return gl.GANStep().d_step(run, data.x, None, opt_d=opt)


def test_wgan_clips_every_critic_weight_after_its_step():
    D = Linear([0.5, -0.003], b=-2.0)
    _d_step(D, "wgan", torch.optim.SGD(D.parameters(), lr=0.0))  # lr 0: only the clip moves the weights
    torch.testing.assert_close(D.w.detach(), torch.tensor([0.01, -0.003]))
    torch.testing.assert_close(D.b.detach(), torch.tensor(-0.01))
    D = Linear([0.5, -0.003], b=-2.0)
    _d_step(D, "hinge", torch.optim.SGD(D.parameters(), lr=0.0))  # other losses do not clip
    torch.testing.assert_close(D.w.detach(), torch.tensor([0.5, -0.003]))
    torch.testing.assert_close(D.b.detach(), torch.tensor(-2.0))


class _Wrap(nn.Module):
    """fit's calling convention D(x, y) around a plain network."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, y=None):
        return self.net(x)


def test_wgan_critic_stays_in_the_box_under_rmsprop():
    cfg = gl.Config(loss="wgan", **L.get("wgan").settings)
    D = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))
    opt = T.make_optimizer(D.parameters(), cfg)
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == pytest.approx(5e-5)
    for _ in range(3):
        _d_step(_Wrap(D), "wgan", opt)
    flat = torch.cat([p.detach().flatten() for p in D.parameters()])
    assert flat.abs().max() <= 0.01 + 1e-7 and (flat.abs() == 0.01).any()


# ---------------------------------------------------------------- the gradient penalty
def test_penalty_uses_per_sample_gradient_norms_linear_critic():
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    unit = torch.tensor([1.0, 2.0, 2.0, 4.0]) / 5.0  # norm 1
    # a linear critic's gradient is w at every point, so each sample's norm is ||w||: penalty (||w|| - 1)^2.
    # A norm over the whole batch's gradient would be sqrt(5) ||w|| instead.
    assert L.gradient_penalty(Linear(unit), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert L.gradient_penalty(Linear(3 * unit), real, fake).item() == pytest.approx(4.0, rel=1e-5)
    assert L.gradient_penalty(Linear(0.5 * unit), real, fake).item() == pytest.approx(0.25, rel=1e-5)


def test_penalty_trains_the_critic_with_the_closed_form_gradient():
    w = torch.tensor([3.0, 4.0])  # ||w|| = 5, P = 16, dP/dw = 2 (||w|| - 1) w / ||w||
    D = Linear(w)
    penalty = L.gradient_penalty(D, torch.randn(4, 2), torch.randn(4, 2))
    (grad_w,) = torch.autograd.grad(penalty, D.w)
    assert penalty.item() == pytest.approx(16.0, rel=1e-5)
    torch.testing.assert_close(grad_w, 2 * 4 * w / 5)


def test_penalty_draws_one_eps_per_sample_quadratic_critic():
    class Quadratic(nn.Module):  # D(x) = 1/2 ||x_i||^2, so grad D(x_hat_i) = x_hat_i
        def forward(self, x, y=None):
            return 0.5 * x.flatten(1).pow(2).sum(1)

    B = 6
    real, fake = torch.randn(B, 3, 4, 4), torch.randn(B, 3, 4, 4)
    got = L.gradient_penalty(Quadratic(), real, fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(B, generator=torch.Generator().manual_seed(7)).view(B, 1, 1, 1)  # the same B draws
    x_hat = eps * real + (1 - eps) * fake
    expect = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert got.item() == pytest.approx(expect.item(), rel=1e-5)
    # per-pixel eps (the common bug) gives a different number
    eps_pix = torch.rand(B, 3, 4, 4, generator=torch.Generator().manual_seed(7))
    wrong = (((eps_pix * real + (1 - eps_pix) * fake).flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert abs(wrong.item() - got.item()) > 1e-3


def test_interpolates_lie_on_each_samples_segment():
    real, fake = torch.randn(8, 3, 5, 5), torch.randn(8, 3, 5, 5)
    x_hat = L.interpolate(real, fake, torch.Generator().manual_seed(1))
    ratio = ((x_hat - fake) / (real - fake)).flatten(1)  # eps_i, repeated over every pixel of sample i
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-4, atol=1e-4)
    eps = ratio[:, 0]
    assert ((eps >= 0) & (eps <= 1)).all() and eps.std() > 0.05  # one draw per sample, not one per batch
    assert not x_hat.requires_grad
    with pytest.raises(ValueError, match="same shape"):
        L.interpolate(real, fake[:4])


def test_d_step_adds_lambda_times_the_penalty():
    w = torch.tensor([0.6, 0.0])  # ||w|| = 0.6: penalty (0.6 - 1)^2 = 0.16 at any interpolate
    D = Linear(w, b=0.3)
    run, data = _run(D, "wgan-gp")
    real = data.x
    z = torch.randn(6, 2, generator=torch.Generator().set_state(run.generator.get_state()))  # the noise d_step draws
    with torch.no_grad():
        expect = (D(run.G(z)).mean() - D(real).mean()).item() + 10.0 * 0.16
    stats = gl.GANStep().d_step(run, real, None, opt_d=torch.optim.SGD(D.parameters(), lr=0.0))
    assert float(stats["loss_d"]) == pytest.approx(expect, rel=1e-5)
    plain, _ = _run(Linear(w, b=0.3), "wgan")  # the same critic without the penalty
    stats = gl.GANStep().d_step(plain, real, None, opt_d=torch.optim.SGD(plain.D.parameters(), lr=0.0))
    assert float(stats["loss_d"]) == pytest.approx(expect - 10.0 * 0.16, rel=1e-5)


def test_check_critic_warns_about_batchnorm_with_the_penalty():
    cfg = gl.preset("dcgan-mnist", size="quick")
    _, D_bn = gl.models.build(cfg)
    with pytest.warns(UserWarning, match="BatchNorm"):
        assert L.check_critic(D_bn, "wgan-gp") is False
    _, D_mlp = gl.models.build(gl.preset("mlp-mnist", size="quick"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert L.check_critic(D_mlp, "wgan-gp") is True
        assert L.check_critic(D_bn, "wgan") is True  # the clipped WGAN of Arjovsky et al. did use BatchNorm


# ---------------------------------------------------------------- lookup and settings
def test_every_loss_by_name_and_an_unknown_name_lists_them_all():
    assert [L.get(n).name for n in L.LOSSES] == ["minimax", "non-saturating", "lsgan", "wgan", "wgan-gp", "hinge"]
    assert L.get("WGAN_GP") is L.LOSSES["wgan-gp"] and L.get(" Non_Saturating ") is L.LOSSES["non-saturating"]
    with pytest.raises(KeyError) as err:
        L.get("wasserstein")
    message = str(err.value)
    assert "'wasserstein'" in message and all(n in message for n in L.LOSSES)


def test_paper_settings_build_the_papers_optimisers():
    gp = gl.Config(**L.get("wgan-gp").settings)
    opt = T.make_optimizer(nn.Linear(2, 1).parameters(), gp)
    assert isinstance(opt, torch.optim.Adam)
    assert opt.defaults["lr"] == pytest.approx(1e-4) and opt.defaults["betas"] == (0.0, 0.9) and gp.k == 5
    assert L.get("wgan").settings["k"] == 5 and L.get("wgan").clip == 0.01 and L.get("wgan-gp").gp_weight == 10.0
    assert all(L.get(n).settings == {} for n in ("minimax", "non-saturating", "lsgan", "hinge"))
    assert [L.get(n).probabilities for n in L.LOSSES] == [True, True, False, False, False, False]
