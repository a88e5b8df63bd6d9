"""Tests for ganlib.toy2d: the ring and grid mixtures, the 2-D MLPs, the mode metrics and the GAN Lab frame."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import ganlib as gl
from ganlib import toy2d


# ---------------------------------------------------------------- data
@pytest.mark.parametrize("k, radius", [(8, 2.0), (5, 1.5), (3, 1.0)])
def test_ring_centers_are_evenly_spaced_on_the_circle(k, radius):
    c = toy2d.ring_centers(k, radius)
    assert c.shape == (k, 2)
    torch.testing.assert_close(c.norm(dim=1), torch.full((k,), radius))
    torch.testing.assert_close(c[0], torch.tensor([radius, 0.0]))
    # neighbours are one chord 2 r sin(pi / k) apart
    chords = (c - c.roll(-1, dims=0)).norm(dim=1)
    torch.testing.assert_close(chords, torch.full((k,), 2 * radius * math.sin(math.pi / k)))


def test_grid_centers_default_is_the_5x5_grid_from_minus_4_to_4():
    c = toy2d.grid_centers()
    assert c.shape == (25, 2)
    assert sorted(set(c[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert sorted(set(c[:, 1].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(p) for p in c.tolist()}) == 25  # all distinct
    torch.testing.assert_close(c.mean(0), torch.zeros(2))


@pytest.mark.parametrize("kind, std, k", [("ring", 0.02, 8), ("grid", 0.05, 25)])
def test_mixture_samples_have_the_right_spread_and_weights(kind, std, k):
    gen = torch.Generator().manual_seed(0)
    n = 20_000
    x = (toy2d.ring if kind == "ring" else toy2d.grid)(n, generator=gen)
    c = toy2d.centers(kind)
    assert x.shape == (n, 2) and x.dtype == torch.float32
    dist, which = torch.cdist(x, c).min(dim=1)
    offsets = x - c[which]
    # each coordinate of the offset is N(0, std^2)
    assert offsets.std(0).tolist() == pytest.approx([std, std], rel=0.05)
    # equal weights: each mode's share is 1/k within 5 binomial standard errors
    share = torch.bincount(which, minlength=k).double() / n
    se = math.sqrt((1 / k) * (1 - 1 / k) / n)
    assert (share - 1 / k).abs().max().item() < 5 * se


def test_same_generator_seed_gives_the_same_points():
    a = toy2d.ring(100, generator=torch.Generator().manual_seed(3))
    b = toy2d.ring(100, generator=torch.Generator().manual_seed(3))
    c = toy2d.ring(100, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)


def test_data_is_tensordata_with_centres_and_std():
    d = toy2d.data("grid", n=500, std=0.1)
    assert isinstance(d, gl.data.TensorData) and len(d) == 500
    assert d.std == 0.1 and d.centers.shape == (25, 2)
    x, y = next(d.batches(100, torch.Generator().manual_seed(0)))
    assert x.shape == (100, 2) and y is None
    assert toy2d.data("ring", n=10).std == 0.02
    with pytest.raises(ValueError, match="ring, grid"):
        toy2d.data("spiral")


# ---------------------------------------------------------------- models
def test_mlps_shapes_and_depths():
    G, D = toy2d.Generator2d(nz=3, width=16, depth=3), toy2d.Discriminator2d(width=8, depth=1)
    assert G(torch.randn(5, 3)).shape == (5, 2)
    assert G(torch.randn(5, 3, 1, 1)).shape == (5, 2)
    assert D(torch.randn(7, 2)).shape == (7,)
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 4
    assert sum(isinstance(m, nn.Linear) for m in D.modules()) == 2
    with pytest.raises(ValueError, match="depth"):
        toy2d.Discriminator2d(width=8, depth=0)


def test_build_uses_config_fields_and_seed():
    cfg = gl.Config(nz=4, ngf=12, ndf=10, seed=5, extra={"g_depth": 3, "d_depth": 1})
    G, D = toy2d.build(cfg)
    assert G.main[0].in_features == 4 and G.main[0].out_features == 12
    assert D.main[0].out_features == 10
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 4
    assert sum(isinstance(m, nn.Linear) for m in D.modules()) == 2
    G2, _ = toy2d.build(cfg)
    torch.testing.assert_close(G.main[0].weight, G2.main[0].weight)
    G3, _ = toy2d.build(cfg.replace(seed=6))
    assert not torch.equal(G.main[0].weight, G3.main[0].weight)


# ---------------------------------------------------------------- mode metrics
def test_mode_metrics_on_hand_made_samples():
    c = toy2d.ring_centers(8, 2.0)
    std = 0.1
    # 400 samples: 200 on mode 0, 100 on mode 3, 4 on mode 5 (exactly 1%: counts), 3 on mode 6 (0.75%: not),
    # 93 far from every centre (at the origin, 2 units from all of them)
    parts = [c[0].repeat(200, 1), c[3].repeat(100, 1), c[5].repeat(4, 1), c[6].repeat(3, 1), torch.zeros(93, 2)]
    m = toy2d.mode_metrics(torch.cat(parts), c, std)
    assert m["modes"] == 3
    assert m["hq"] == pytest.approx(307 / 400)
    assert m["counts"] == [200, 0, 0, 100, 0, 4, 3, 0]
    assert m["n"] == 400
    assert m["reached"] == 3  # the 93 at the origin are equidistant: argmin puts them all on mode 0


def test_mode_metrics_reached_counts_modes_approached_from_afar():
    c = toy2d.grid_centers(5, 2.0)                    # 25 centres, spacing 2
    std = 0.05
    # 250 samples, 10 near every centre but 0.5 away from it (10 std): every mode reached, none covered
    offset = torch.tensor([0.5, 0.0])
    x = (c + offset).repeat_interleave(10, dim=0)
    m = toy2d.mode_metrics(x, c, std)
    assert (m["reached"], m["modes"], m["hq"]) == (25, 0, 0.0)
    # the same samples pulled onto their centres: every mode reached and covered
    m = toy2d.mode_metrics(c.repeat_interleave(10, dim=0), c, std)
    assert (m["reached"], m["modes"], m["hq"]) == (25, 25, 1.0)


def test_mode_metrics_three_sigma_boundary():
    c = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    std = 0.5
    inside = torch.tensor([[2.9 * std, 0.0]])        # 2.9 sigma from centre 0: high quality
    outside = torch.tensor([[10.0, 3.1 * std]])      # 3.1 sigma from centre 1: not
    m = toy2d.mode_metrics(torch.cat([inside, outside]), c, std)
    assert m["hq"] == pytest.approx(0.5) and m["counts"] == [1, 0] and m["modes"] == 1
    # real data covers every mode with almost all samples within 3 sigma (99.9% in 1-D, 98.9% for a 2-D radius)
    x = toy2d.ring(8000, std=0.02, generator=torch.Generator().manual_seed(1))
    m = toy2d.mode_metrics(x, toy2d.ring_centers(), 0.02)
    assert m["modes"] == 8
    assert m["hq"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)  # P(chi2_2 <= 9) = 1 - e^{-9/2}


def test_mode_metrics_rejects_bad_shapes():
    with pytest.raises(ValueError, match="samples"):
        toy2d.mode_metrics(torch.zeros(10, 3), toy2d.ring_centers(), 0.02)
    with pytest.raises(ValueError, match="samples"):
        toy2d.mode_metrics(torch.zeros(0, 2), toy2d.ring_centers(), 0.02)


# ---------------------------------------------------------------- the frame
class _Linear(nn.Module):
    """D whose logit is 10 x: it says "real" right of the y axis, "fake" left of it."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([10.0, 0.0]))

    def forward(self, x, y=None):
        return x @ self.w


class _Constant(nn.Module):
    """G that puts every sample at one point."""

    def __init__(self, point):
        super().__init__()
        self.point = nn.Parameter(torch.tensor(point))

    def forward(self, z, y=None):
        return self.point.expand(z.shape[0], 2)


def _fake_run(loss="non-saturating"):
    return SimpleNamespace(G=_Constant([-1.5, 1.5]), D=_Linear(), cfg=gl.Config(loss=loss, nz=2), step=7,
                           fixed_noise=torch.zeros(4, 2), fixed_labels=None)


@pytest.mark.parametrize("loss", ["non-saturating", "wgan-gp"])
def test_frame_draws_surface_and_samples_where_they_are(loss):
    run = _fake_run(loss)
    size, limits = 300, 3.0
    f = toy2d.frame(run, toy2d.ring_centers(), limits=limits, size=size)
    assert f.dtype == np.uint8 and f.shape == (size, size, 3)
    right, left = f[200, 280].astype(int), f[200, 20].astype(int)
    assert right[1] > right[0] and right[1] > right[2]   # green where D says real
    assert left[0] > left[1] and left[2] > left[1]       # purple where D says fake
    # G's point (-1.5, 1.5) lands at pixel column (x + 3) / 6 * 300 = 75, row (3 - y) / 6 * 300 = 75
    assert tuple(f[75, 75]) == toy2d.FAKE_RGB
    assert tuple(f[75, 150]) != toy2d.FAKE_RGB


def test_frame_as_fit_snapshot():
    data = toy2d.data("ring", n=256, seed=0)
    cfg = gl.Config(name="toy", nz=2, ngf=16, ndf=16, batch_size=64, num_epochs=1, n_fixed=32,
                    snapshot_every=2, log_every=100, seed=0)
    G, D = toy2d.build(cfg)
    run = gl.fit(G, D, data, cfg, progress=False,
                 snapshot=lambda r: toy2d.frame(r, data.centers, data.x[:64], std=data.std, size=160))
    assert run.history.snapshot_steps == [0, 2, 4]
    assert all(s.shape == (160, 160, 3) and s.dtype == np.uint8 for s in run.history.snapshots)
    assert not np.array_equal(run.history.snapshots[0], run.history.snapshots[-1])


# ---------------------------------------------------------------- PacGAN packing
def test_packed_discriminator_judges_packs():
    D = toy2d.Discriminator2d(width=8, depth=1, pack=3)
    x = torch.randn(12, 2)
    out = D(x)
    assert out.shape == (4,)
    # pack j is samples 3j, 3j+1, 3j+2 side by side
    torch.testing.assert_close(out[1], D.main(x[3:6].reshape(1, 6)).view(()))
    with pytest.raises(ValueError, match="divisible"):
        D(torch.randn(10, 2))
    G, D = toy2d.build(gl.Config(nz=2, ngf=8, ndf=8, extra={"pack": 2}))
    assert D.pack == 2 and D.main[0].in_features == 4
    values, _ = toy2d.surface(D, 2.0, resolution=16)
    assert values.shape == (16, 16)


# ---------------------------------------------------------------- the gradient probe
def test_gradient_probe_matches_the_closed_form_and_freezes_g():
    """For one sample with logit t, grad log(1 - sigmoid(t)) = -D grad t and grad -log sigmoid(t) = -(1 - D) grad t,
    so the two gradient norms are in the ratio D / (1 - D) (chapter 2)."""
    torch.manual_seed(0)
    G, D = toy2d.Generator2d(2, 8, 1), toy2d.Discriminator2d(8, 1)
    probe = toy2d.GradientProbe()
    opt_g = torch.optim.SGD(G.parameters(), lr=1.0)
    before = [p.detach().clone() for p in G.parameters()]
    z = torch.randn(1, 2)
    probe(G, D, opt_g, z, "minimax")
    d = torch.sigmoid(D(G(z))).item()
    ratio = probe.norms["minimax"][0] / probe.norms["non-saturating"][0]
    assert ratio == pytest.approx(d / (1 - d), rel=1e-5)
    assert probe.d_fake[0] == pytest.approx(d)
    # independent computation of the non-saturating norm with backward()
    G.zero_grad()
    gl.losses.get("non-saturating").g(D(G(z))).backward()
    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in G.parameters())).item()
    assert probe.norms["non-saturating"][0] == pytest.approx(norm, rel=1e-5)
    for p, q in zip(G.parameters(), before):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_gradient_probe_in_fit_trains_d_only():
    data = toy2d.data("ring", n=512, seed=0)
    cfg = gl.Config(name="probe", nz=2, ngf=16, ndf=16, batch_size=64, num_epochs=3, n_fixed=8,
                    snapshot_every=1000, log_every=1000, seed=0, lr=1e-2, loss="minimax")
    G, D = toy2d.build(cfg)
    g0 = [p.detach().clone() for p in G.parameters()]
    probe = toy2d.GradientProbe()
    run = gl.fit(G, D, data, cfg, g_step_fn=probe, progress=False, snapshot=lambda r: np.zeros((1, 1, 3), np.uint8))
    assert len(probe.norms["minimax"]) == len(run.history) == 24
    for p, q in zip(run.G.parameters(), g0):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    # D learns to reject G's samples, and the saturating gradient fades relative to the non-saturating one
    assert probe.d_fake[-1] < 0.5 * probe.d_fake[0]
    first = probe.norms["minimax"][0] / probe.norms["non-saturating"][0]
    last = probe.norms["minimax"][-1] / probe.norms["non-saturating"][-1]
    assert last < 0.5 * first


# ---------------------------------------------------------------- the lab
def test_method_config_applies_one_change_each():
    cfg = gl.preset("challenges-ring", size="quick")
    assert toy2d.method_config(cfg, "pacgan").extra["pack"] == 2
    assert toy2d.method_config(cfg, "pacgan").extra["std"] == cfg.extra["std"]
    w = toy2d.method_config(cfg, "wgan-gp")
    assert w.loss == "wgan-gp" and w.k == 5 and gl.losses.get(w.loss).gp_weight > 0
    assert w.max_steps == round(cfg.max_steps * toy2d.METHODS["wgan-gp"].steps_factor)
    g = toy2d.method_config(cfg, "gan")
    assert (g.loss, g.k, g.lr, g.extra) == (cfg.loss, cfg.k, cfg.lr, cfg.extra)
    with pytest.raises(KeyError, match="pacgan"):
        toy2d.method_config(cfg, "veegan")


def test_lab_run_with_linear_decay():
    cfg = gl.preset("challenges-ring", size="quick").replace(max_steps=10, snapshot_every=5, n_fixed=64)
    data = toy2d.data("ring", n=cfg.extra["n_data"], std=cfg.extra["std"])
    res = toy2d.lab_run(cfg, data, "pacgan", frames=False, n_eval=500)
    assert res.method == "pacgan" and res.run.D.pack == 2
    assert [t[0] for t in res.trace] == [0, 5, 10] == res.run.history.snapshot_steps
    assert 0 <= res.metrics["modes"] <= 8 and 0.0 <= res.metrics["hq"] <= 1.0 and res.metrics["n"] == 500
    # the learning rate fell linearly to lr_decay x lr at max_steps
    final = cfg.lr * cfg.extra["lr_decay"]
    assert res.run.opt_g.param_groups[0]["lr"] == pytest.approx(final)
    assert res.run.opt_d.param_groups[0]["lr"] == pytest.approx(final)
    with pytest.raises(ValueError, match="max_steps"):
        toy2d.linear_decay(0.1)(SimpleNamespace(cfg=gl.Config(max_steps=None)))
