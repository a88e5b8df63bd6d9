"""Tests for ganlib.toy2d: the ring and grid mixtures, the preset's data, the GAN Lab frame and the mode-collapse
lab. (The 2-D MLPs are tested in test_models.py, the mode metrics in test_metrics.py and the gradient probe in
test_steps.py, with the code they test.)"""
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
    x = (toy2d.ring if kind == "ring" else toy2d.grid_mixture)(n, generator=gen)
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


def test_dataset_is_the_data_the_preset_names():
    for name, kind, std in (("challenges-ring", "ring", 0.05), ("challenges-grid", "grid", 0.05),
                            ("variants-ring", "ring", 0.02)):
        cfg = gl.preset(name, size="quick")
        d = toy2d.dataset(cfg)
        assert (len(d), d.kind, d.std) == (cfg.n_train, kind, std) and d.std == cfg.chapter.std
        torch.testing.assert_close(d.centers, toy2d.centers(kind))
        torch.testing.assert_close(d.x, toy2d.data(kind, n=cfg.n_train, std=std).x)  # seed 0
        m = gl.metrics.mode_metrics(d.x, d.centers, d.std)
        assert m["modes"] == len(d.centers) and m["hq"] > 0.97
    other = toy2d.dataset(gl.preset("challenges-ring", size="quick"), seed=1)
    assert not torch.equal(other.x, toy2d.dataset(gl.preset("challenges-ring", size="quick")).x)


# ---------------------------------------------------------------- mode metrics
def test_mode_metrics_on_hand_made_samples():
    c = toy2d.ring_centers(8, 2.0)
    std = 0.1
    # 400 samples: 200 on mode 0, 100 on mode 3, 4 on mode 5 (exactly 1%: counts), 3 on mode 6 (0.75%: not),
    # and 93 far from every centre (10 std and more) but clearly nearest to mode 1: half-way from the origin
    # to centre 1, 1.0 from it and 1.47 from its neighbours. No sample is near a tie between two centres, so
    # which centre is nearest never depends on float rounding (points at the origin, equidistant from all
    # eight, went to whichever centre a CPU's rounding made nearest).
    parts = [c[0].repeat(200, 1), c[3].repeat(100, 1), c[5].repeat(4, 1), c[6].repeat(3, 1), (0.5 * c[1]).repeat(93, 1)]
    x = torch.cat(parts)
    d = torch.cdist(x.double(), c.double()).sort(dim=1).values
    assert (d[:, 1] - d[:, 0]).min() > 0.4  # every sample's nearest centre wins by a wide margin (checked here)
    m = gl.metrics.mode_metrics(x, c, std)
    assert m["modes"] == 3
    assert m["hq"] == pytest.approx(307 / 400)
    assert m["counts"] == [200, 0, 0, 100, 0, 4, 3, 0]
    assert m["n"] == 400
    assert m["reached"] == 4  # modes 0, 3, 5, and 1 (approached from afar by the 93, covered by none); not 6


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
                           fixed_noise=torch.zeros(4, 2), fixed_labels=None, loss=gl.losses.get(loss))


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
    cfg = gl.Config(name="toy", arch="toy2d", nz=2, ngf=16, ndf=16, batch_size=64, num_epochs=1, n_fixed=32,
                    snapshot_every=2, log_every=100, seed=0)
    G, D = gl.models.build(cfg)
    run = gl.fit(G, D, data, cfg, progress=False, device=torch.device("cpu"),
                 snapshot=lambda r: toy2d.frame(r, data.centers, data.x[:64], std=data.std, size=160))
    assert run.history.snapshot_steps == [0, 2, 4]
    assert all(s.shape == (160, 160, 3) and s.dtype == np.uint8 for s in run.history.snapshots)
    assert not np.array_equal(run.history.snapshots[0], run.history.snapshots[-1])


# ---------------------------------------------------------------- PacGAN: the surface of a packed D
def test_surface_of_a_packed_d_judges_packs_of_copies():
    _, D = gl.models.build(gl.Config(arch="toy2d", nz=2, ngf=8, ndf=8, pack=2))
    values, raw = toy2d.surface(D, 2.0, resolution=16)
    assert values.shape == raw.shape == (16, 16)
    # the top-left pixel is the point (-2, 2), shown to D as a pack of two copies of it
    corner = torch.tensor([[-2.0, 2.0], [-2.0, 2.0]])
    with torch.no_grad():
        assert raw[0, 0] == pytest.approx(D(corner).item(), rel=1e-5, abs=1e-6)
    assert values[0, 0] == pytest.approx(torch.sigmoid(torch.tensor(raw[0, 0])).item(), rel=1e-6)
    critic_values, _ = toy2d.surface(D, 2.0, resolution=16, probabilities=False)
    assert critic_values.min() == 0.0 and critic_values.max() == 1.0  # a critic's scores rescaled to the frame


# ---------------------------------------------------------------- the lab
def test_method_config_applies_one_change_each():
    cfg = gl.preset("challenges-ring", size="quick")
    pac = toy2d.method_config(cfg, "pacgan")
    assert pac.pack == 2 and pac.chapter == cfg.chapter and pac.name == "challenges-ring/pacgan"
    assert pac == cfg.replace(name="challenges-ring/pacgan", pack=2)  # one change, nothing else
    w = toy2d.method_config(cfg, "wgan-gp")
    assert w.loss == "wgan-gp" and w.k == 5 and gl.losses.get(w.loss).gp_weight > 0
    assert w.max_steps == round(cfg.max_steps * toy2d.METHODS["wgan-gp"].steps_factor)
    assert w.snapshot_every == max(1, round(cfg.snapshot_every * toy2d.METHODS["wgan-gp"].steps_factor))
    assert (w.d_depth, w.beta2) == (3, 0.9)
    g = toy2d.method_config(cfg, "gan")
    assert g == cfg.replace(name="challenges-ring/gan")  # the plain GAN changes nothing but its name
    assert (g.loss, g.k, g.lr, g.pack, g.d_depth, g.chapter) == (cfg.loss, cfg.k, cfg.lr, 1, cfg.d_depth, cfg.chapter)
    with pytest.raises(KeyError, match="pacgan"):
        toy2d.method_config(cfg, "veegan")


def test_lab_run_with_linear_decay():
    cfg = gl.preset("challenges-ring", size="quick").replace(max_steps=10, snapshot_every=5, n_fixed=64)
    data = toy2d.dataset(cfg)
    res = toy2d.lab_run(cfg, data, "pacgan", frames=False, n_eval=500)
    assert res.method == "pacgan" and res.run.D.pack == 2
    assert [t[0] for t in res.trace] == [0, 5, 10] == res.run.history.snapshot_steps
    assert 0 <= res.metrics["modes"] <= 8 and 0.0 <= res.metrics["hq"] <= 1.0 and res.metrics["n"] == 500
    # the learning rate fell linearly to lr_decay x lr at max_steps (fit applies cfg.lr_decay)
    assert cfg.lr_decay == 0.1
    final = cfg.lr * cfg.lr_decay
    assert res.run.opt_g.param_groups[0]["lr"] == pytest.approx(final)
    assert res.run.opt_d.param_groups[0]["lr"] == pytest.approx(final)
    # a decay without an end is refused when the Config is made (it was refused by toy2d.linear_decay)
    with pytest.raises(ValueError, match="max_steps"):
        cfg.replace(max_steps=None)


# ---------------------------------------------------------------- D's feedback near equilibrium
def test_mixture_generator_draws_the_data_at_scale_one_and_a_scaled_copy_otherwise():
    c = toy2d.ring_centers(8, 2.0)
    z = torch.randn(8000, 3, generator=torch.Generator().manual_seed(0))
    G = toy2d.MixtureGenerator(c, 0.05, scale=1.0)
    x = G(z)
    assert x.shape == (8000, 2) and G(z.view(8000, 3, 1, 1)).shape == (8000, 2)
    m = gl.metrics.mode_metrics(x, c, 0.05)
    assert m["modes"] == 8 and m["hq"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    share = torch.tensor(m["counts"], dtype=torch.float64) / m["n"]
    assert (share - 1 / 8).abs().max() < 5 * math.sqrt(1 / 8 * 7 / 8 / 8000)  # the modes are equally likely
    half = toy2d.MixtureGenerator(c, 0.05, scale=0.5)
    assert gl.metrics.mode_metrics(half(z), 0.5 * c, 0.05)["modes"] == 8
    assert gl.metrics.mode_metrics(half(z), c, 0.05)["hq"] == 0.0
    # the scale is its only weight, and G's loss reaches it
    assert [n for n, _ in half.named_parameters()] == ["scale"]
    half(z).pow(2).sum().backward()
    assert half.scale.grad is not None and half.scale.grad > 0
    with pytest.raises(ValueError, match="nz >= 3"):
        G(torch.randn(4, 2))


def test_feedback_is_a_signal_away_from_the_data_and_noise_at_it():
    cfg = gl.preset("challenges-vanishing", size="quick", loss="non-saturating", nz=3).replace(max_steps=30)
    data = toy2d.dataset(cfg)
    fb = toy2d.feedback(cfg, data, scales=(0.8, 1.0), seeds=(0, 1, 2), n=2048, n_points=16)
    assert len(fb.rows) == 6 and fb.points[0.8].shape == (16, 2) and fb.arrows[(1.0, 2)].shape == (16, 2)
    far = [r for r in fb.rows if r["scale"] == 0.8]
    at = [r for r in fb.rows if r["scale"] == 1.0]
    # far from the data: D separates, and every seed's D tells G the same thing (grow the ring)
    assert all(r["accuracy"] > 0.9 and r["grad"] < 0 for r in far)
    # at the data: D is at chance and its feedback is tiny next to the far one, and differs between seeds
    assert all(abs(r["accuracy"] - 0.5) < 0.05 and abs(r["D(G(z))"] - 0.5) < 0.05 for r in at)
    mean_far = sum(r["grad"] for r in far) / 3
    mean_at = sum(r["grad"] for r in at) / 3
    assert abs(mean_at) < 0.05 * abs(mean_far)
    summary = fb.summary()
    assert [s["scale s"] for s in summary] == [0.8, 1.0]
    assert summary[0]["|mean| / std"] > 3 > summary[1]["|mean| / std"]
    with pytest.raises(ValueError, match="nz >= 3"):
        toy2d.feedback(cfg.replace(nz=2), data)


def test_lab_run_and_feedback_with_a_cache_name_load_the_second_time(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path))
    cfg = gl.preset("challenges-ring", size="quick").replace(max_steps=4, snapshot_every=2, n_fixed=64)
    data = toy2d.dataset(cfg)
    first = toy2d.lab_run(cfg, data, "gan", frames=False, n_eval=200, cache="lab")
    again = toy2d.lab_run(cfg, data, "gan", frames=False, n_eval=200, cache="lab")
    assert "lab: loaded from the result cache" in capsys.readouterr().out
    assert again.trace == first.trace and again.metrics == first.metrics and again.seconds == first.seconds
    other = toy2d.lab_run(cfg, data, "pacgan", frames=False, n_eval=200, cache="lab")  # another method: trains
    assert other.method == "pacgan" and "out of date" in capsys.readouterr().out
    fcfg = gl.preset("challenges-vanishing", size="quick", loss="non-saturating", nz=3).replace(max_steps=3)
    fdata = toy2d.dataset(fcfg)
    fb = toy2d.feedback(fcfg, fdata, scales=(1.0,), seeds=(0,), n=64, n_points=4, cache="fb")
    fb2 = toy2d.feedback(fcfg, fdata, scales=(1.0,), seeds=(0,), n=64, n_points=4, cache="fb")
    assert fb2.rows == fb.rows and torch.equal(fb2.arrows[(1.0, 0)], fb.arrows[(1.0, 0)])
    assert "fb: loaded from the result cache" in capsys.readouterr().out


def test_lab_result_summary_is_one_line():
    cfg = gl.preset("challenges-ring", size="quick").replace(max_steps=4, snapshot_every=2, n_fixed=64)
    res = toy2d.lab_run(cfg, toy2d.dataset(cfg), "gan", frames=False, n_eval=200)
    line = res.summary()
    assert "\n" not in line and line.startswith(toy2d.METHODS["gan"].label) and "/8" in line and "HQ" in line
