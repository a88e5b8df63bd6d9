"""ganlib.toy1d: the 1-D toy of chapters 1 and 3, checked against ganlib.theory's closed forms."""
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import ganlib as gl
from ganlib import theory as T
from ganlib import toy1d


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets run faster on one thread (and much faster on a busy machine); restore afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class Affine(nn.Module):
    """G(z) = a z + b: pushes N(0, 1) forward to N(b, a^2), a known p_g."""

    def __init__(self, a, b):
        super().__init__()
        self.nz, self.lin = 1, nn.Linear(1, 1)
        with torch.no_grad():
            self.lin.weight.fill_(a), self.lin.bias.fill_(b)

    def forward(self, z, y=None):
        return self.lin(z.reshape(-1, 1))


class ExactD(nn.Module):
    """D with logit log p_data(x) - log p_g(x) for p_data = N(1, 1), p_g = N(0, 1): x - 1/2."""

    def forward(self, x, y=None):
        return x.reshape(-1) - 0.5


class Constant(nn.Module):
    """D(x) = 1/2 everywhere (logit 0)."""

    def forward(self, x, y=None):
        return torch.zeros(x.shape[0])


# (The mlp1d models, built by gl.models.build, are tested in tests/test_models.py.)
def test_p_data_by_name_or_by_dict():
    cfg = gl.preset("toy1d", size="quick")
    p = toy1d.p_data(cfg)
    assert p.weights.tolist() == pytest.approx(toy1d.DISTRIBUTIONS[cfg.chapter.p_data]["weights"])
    q = toy1d.p_data(gl.preset("toy1d", size="quick",
                               chapter=dict(p_data={"weights": [1], "means": [2], "stds": [0.5]})))
    assert q.means.tolist() == [2.0]
    with pytest.raises(KeyError, match="Unknown 1-D distribution"):
        toy1d.p_data(gl.preset("toy1d", size="quick", chapter=dict(p_data="nope")))


def test_dataset_is_tensor_data_of_the_right_distribution():
    p = T.normal(1.0, 0.5)
    data = toy1d.dataset(p, 5000, seed=0)
    assert isinstance(data, gl.data.TensorData) and data.x.shape == (5000, 1) and data.x.dtype == torch.float32
    assert stats.kstest(data.x[:, 0].numpy(), p.cdf).pvalue > 0.01


def test_pushforward_density_of_an_affine_generator_is_the_gaussian():
    grid = toy1d.Axis((-4, 6), 500)
    pg = toy1d.pushforward_density(Affine(0.8, 1.0), grid.edges)
    exact = T.normal(1.0, 0.8).pdf(grid.centres)
    assert np.sum(pg * np.diff(grid.edges)) == pytest.approx(1.0, abs=1e-4)
    assert np.max(np.abs(pg - exact)) < 0.01 * exact.max()
    assert T.jsd_on_grid(exact, pg, grid.centres) < 1e-4


def test_d_star_gap_is_zero_for_the_exact_d_star_and_large_for_a_constant_d():
    grid = toy1d.Axis((-5, 6), 440)
    p, G = T.normal(1.0, 1.0), Affine(1.0, 0.0)
    gap, mask = toy1d.d_star_gap(G, ExactD(), p, grid)
    assert gap < 0.01 and mask.sum() > 100
    gap_bad, _ = toy1d.d_star_gap(G, Constant(), p, grid)  # D = 1/2 everywhere: wrong wherever p_data != p_g
    exact = T.d_star(p, T.normal(0.0, 1.0), grid.centres[mask])
    assert gap_bad == pytest.approx(np.max(np.abs(exact - 0.5)), abs=0.01) and gap_bad > 0.3


def test_loss_d_of_d_star_is_log4_minus_two_jsd():
    p, G = T.normal(1.0, 1.0), Affine(1.0, 0.0)
    loss = gl.losses.get("non-saturating")
    got = toy1d.loss_d_on_fresh_samples(G, ExactD(), p, loss, n=200_000)
    assert got == pytest.approx(T.LOG4 - 2 * T.jsd(p, T.normal(0.0, 1.0)), abs=0.01)


def test_fit_with_a_frozen_g_trains_d_to_d_star_and_leaves_g_alone():
    cfg = gl.preset("toy1d", size="quick", ndf=32, chapter=dict(frozen_steps=300))
    p, G = T.normal(1.0, 1.0), Affine(1.0, 0.0)
    before = [t.clone() for t in G.parameters()]
    _, D = gl.models.build(cfg)
    frozen = toy1d.frozen_config(cfg)
    assert frozen.k == 1 and frozen.max_steps == 300 and frozen.batch_size == cfg.chapter.frozen_batch
    run = gl.fit(G, D, toy1d.dataset(p, cfg.n_train), frozen, step=gl.steps.FrozenG(), progress=False,
                 snapshot=gl.train.blank_frame,
                 callbacks=toy1d.cosine_lr(frozen.max_steps, frozen.lr))
    for a, b in zip(before, G.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert len(run.history) == 300 and run.opt_d.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    gap, _ = toy1d.d_star_gap(G, D, p, toy1d.Axis((-5, 6), 440))
    assert gap < 0.05


def test_toy_gan_through_fit_makes_fig1_frames_and_tracks_jsd():
    cfg = gl.preset("toy1d", size="quick", max_steps=4, snapshot_every=4, n_train=4096)
    p, grid = toy1d.p_data(cfg), toy1d.Axis.from_config(cfg)
    G, D = gl.models.build(cfg)
    callbacks, records = toy1d.jsd_tracker(p, grid, every=2)
    run = gl.fit(G, D, toy1d.dataset(p, cfg.n_train), cfg, snapshot=toy1d.snapshotter(p, grid),
                 callbacks=callbacks, progress=False)
    assert run.history.snapshot_steps == [0, 4]
    frame = run.history.snapshots[-1]
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] > 200
    assert [s for s, _ in records] == [2, 4] and all(0 <= j <= math.log(2) for _, j in records)


def test_uniform_noise_wrapper_feeds_uniform_noise():
    seen = {}

    class Spy(nn.Module):
        nz = 1

        def forward(self, z, y=None):
            seen["z"] = z
            return z

    out = toy1d.UniformNoise(Spy())(torch.randn(20_000, 1, generator=torch.Generator().manual_seed(0)))
    assert stats.kstest(seen["z"][:, 0].numpy(), stats.uniform(-1, 2).cdf).pvalue > 0.01
    assert out.shape == (20_000, 1)


def test_quantile_map_learns_the_inverse_cdf():
    p = T.normal(2.0, 0.5)
    G, _ = gl.models.build(gl.Config(arch="mlp1d", nz=1, ngf=32, g_activation="leaky_relu", seed=0))
    losses = toy1d.fit_quantile_map(G, torch.from_numpy(p.sample(20_000, 0)), steps=400, batch_size=256)
    assert len(losses) == 400 and np.mean(losses[-20:]) < 0.1 * np.mean(losses[:20])
    u = np.linspace(0.05, 0.95, 19)
    learned = toy1d.generate(G, torch.from_numpy(u).float()[:, None])
    np.testing.assert_allclose(learned, p.ppf(u), atol=0.1)
    assert np.all(np.diff(learned) > 0)  # increasing, like F^{-1}


def test_mass_region_is_the_central_interval_of_the_mixture():
    grid = toy1d.Axis((-6, 6), 1200)
    s = {"p_data": T.normal(0.0, 1.0).pdf(grid.centres), "p_g": T.normal(0.0, 1.0).pdf(grid.centres)}
    for coverage in (0.95, 0.99):
        mask = toy1d.mass_region(s, coverage)
        edge = stats.norm.ppf(0.5 + coverage / 2)
        assert grid.centres[mask].min() == pytest.approx(-edge, abs=0.02)
        assert grid.centres[mask].max() == pytest.approx(edge, abs=0.02)
        assert mask.sum() == np.ptp(np.flatnonzero(mask)) + 1  # one contiguous interval


def test_detach_only_saves_compute_when_g_zeroes_its_gradients():
    """Chapter 3: an attached fake batch leaks D's gradient into G; G's zero_grad discards it, so G's update is
    the same with or without the detach; only the loop without zero_grad (source 000's) changes G's update."""
    G, D = gl.models.build(gl.preset("toy1d", size="quick", ngf=8, ndf=8))
    gen = torch.Generator().manual_seed(0)
    real, z_d, z_g = (torch.randn(16, 1, generator=gen) for _ in range(3))
    loss = gl.losses.get("non-saturating")
    before = [p.detach().clone() for p in G.parameters()]
    out = {(det, zg): toy1d.detach_experiment(G, D, loss, real, z_d, z_g, detach=det, zero_grad=zg)
           for det in (True, False) for zg in (True, False)}
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))  # the arguments are left alone
    assert out[True, True]["leaked"] == 0.0 and out[False, True]["leaked"] > 1e-4
    ref = out[True, True]["g_after"]
    same = {key: all(torch.equal(a, b) for a, b in zip(r["g_after"], ref)) for key, r in out.items()}
    assert same == {(True, True): True, (True, False): True, (False, True): True, (False, False): False}
    assert not all(torch.equal(a, b) for a, b in zip(ref, before))  # the G step did move G
    # without zero_grad the update is the clean one plus lr times the leaked gradient of D's loss
    leaked = torch.autograd.grad(loss.d(D(real), D(G(z_d))), list(G.parameters()))  # at D before its step
    expected = [r - 0.1 * g for r, g in zip(ref, leaked)]
    for a, b in zip(out[False, False]["g_after"], expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
