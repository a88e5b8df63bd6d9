"""ganlib.variants: the fair comparison, the exact earth mover's distance, and the distance readings."""
import math

import pytest
import torch
from torch import nn

import ganlib as gl
from ganlib import losses as L
from ganlib import toy2d
from ganlib import variants as V


_THREADS = torch.get_num_threads()


def setup_module():
    torch.set_num_threads(1)  # the nets here are tiny: one thread beats two fighting over a shared CPU


def teardown_module():
    torch.set_num_threads(_THREADS)


def _ring_cfg(**changes):
    return gl.preset("variants-ring", size="quick", **changes)


def _jsd_shifted_gaussians(d, sigma):
    return gl.theory.jsd(gl.theory.normal(0.0, sigma), gl.theory.normal(d, sigma))


class Linear2d(nn.Module):
    def __init__(self, w, b=0.0):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(float(b), dtype=torch.float64))

    def forward(self, x, y=None):
        return x.double() @ self.w + self.b


# ---------------------------------------------------------------- the budget
def test_config_for_gives_each_loss_its_paper_settings_and_the_same_g_updates():
    cfg = _ring_cfg(max_steps=37)
    n = 1000
    for name in V.NAMES:
        c = V.config_for(cfg, name, n)
        assert c.loss == name and c.max_steps == 37 and c.k == L.get(name).settings.get("k", cfg.k)
        per_epoch = (n // c.batch_size) // c.k
        assert per_epoch * c.num_epochs >= 37 > per_epoch * (c.num_epochs - 1)  # just enough passes
        assert c.seed == cfg.seed and c.ngf == cfg.ngf and c.ndf == cfg.ndf and c.batch_size == cfg.batch_size
    assert V.config_for(cfg, "wgan", n).optimizer == "rmsprop" and V.config_for(cfg, "lsgan", n).lr == cfg.lr
    shared = V.config_for(cfg, "wgan-gp", n, lr=cfg.lr)  # overrides beat the paper's settings, the rest stays
    assert shared.lr == cfg.lr != 1e-4 and (shared.beta1, shared.beta2, shared.k) == (0.0, 0.9, 5)
    with pytest.raises(ValueError, match="max_steps"):
        V.config_for(cfg.replace(max_steps=None), "wgan", n)
    with pytest.raises(ValueError, match="fewer than k=5"):
        V.config_for(cfg, "wgan-gp", 4 * cfg.batch_size)


def test_compare_trains_every_loss_for_the_same_g_updates_and_repeats_exactly():
    cfg = _ring_cfg(max_steps=4)
    data = toy2d.data("ring", 512)
    blank = gl.train.blank_frame
    names = ("non-saturating", "wgan-gp")
    a = V.compare(cfg, data, gl.models.build, V.ring_evaluator(data, n=200), losses=names, snapshot=blank, log=None)
    b = V.compare(cfg, data, gl.models.build, V.ring_evaluator(data, n=200), losses=names, snapshot=blank, log=None)
    assert list(a) == list(names)
    assert [len(r.run.history) for r in a.values()] == [4, 4] and [r.d_steps for r in a.values()] == [4, 20]
    for name in names:
        assert set(a[name].metrics) == {"modes", "hq"} and 0 <= a[name].metrics["hq"] <= 1
        assert a[name].run.history.loss_d == b[name].run.history.loss_d  # same seed, same run
    assert a["non-saturating"].run.history.loss_d != a["wgan-gp"].run.history.loss_d
    frame = V.table({"ring": a, "other": {"wgan-gp": b["wgan-gp"]}})
    assert frame["loss"].tolist() == list(names) and frame.shape[1] == 2 + 3 + 3
    rows = {row["loss"]: row for row in frame.to_dict("records")}
    assert rows["non-saturating"]["k (D steps per G update)"] == 1 and rows["wgan-gp"]["k (D steps per G update)"] == 5
    assert rows["non-saturating"]["other: time (s)"] == "-"
    assert rows["wgan-gp"]["ring: modes covered"] == str(a["wgan-gp"].metrics["modes"])
    assert "other: high-quality share" in frame.columns and not any("Frechet" in c for c in frame.columns)
    frames, steps = V.side_by_side(a, ncol=2)
    assert steps == [0, 4] and len(frames) == 2 and frames[0].shape == (1 + 2 * 4, 2 + 3 * 4, 3)


# ---------------------------------------------------------------- the earth mover's distance
# (exact_w1 and critic_gap live in ganlib.metrics now: their tests are in tests/test_metrics.py.)
def test_w1_tracker_records_gap_and_exact_w1_at_each_snapshot():
    cfg = V.config_for(_ring_cfg(max_steps=4), "wgan-gp", 512).replace(snapshot_every=2)
    data = toy2d.data("ring", 512)
    tracker = V.W1Tracker(data, n=64)
    G, D = gl.models.build(cfg)
    run = gl.fit(G, D, data, cfg, progress=False, snapshot=gl.train.blank_frame,
                 callbacks={"on_snapshot": tracker})
    assert tracker.steps == [2, 4]
    fake = gl.metrics.generate(run.G, 64, cfg.nz, seed=0)
    assert tracker.w1[-1] == pytest.approx(gl.metrics.exact_w1(tracker.real, fake), rel=1e-9)
    assert tracker.gap[-1] == pytest.approx(gl.metrics.critic_gap(run.D, tracker.real, fake), rel=1e-6)


# ---------------------------------------------------------------- what D's number means
def test_jsd_of_shifted_gaussians_limits_and_monte_carlo():
    assert _jsd_shifted_gaussians(0.0, 0.1) == pytest.approx(0.0, abs=1e-9)
    assert _jsd_shifted_gaussians(2.0, 0.1) == pytest.approx(math.log(2), abs=1e-9)
    # Monte Carlo: JSD = 1/2 E_p log(2p / (p + q)) + 1/2 E_q log(2q / (p + q)), with d = sigma = 1
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400_000, generator=g, dtype=torch.float64)
    log_ratio = lambda t, d: -0.5 * t ** 2 + 0.5 * (t - d) ** 2  # noqa: E731  log p/q at t, p = N(0,1), q = N(d,1)
    half = lambda lr: (math.log(2) - torch.nn.functional.softplus(-lr)).mean().item()  # noqa: E731  E log 2p/(p+q)
    mc = 0.5 * half(log_ratio(x, 1.0)) + 0.5 * half(-log_ratio(x + 1.0, 1.0))
    assert _jsd_shifted_gaussians(1.0, 1.0) == pytest.approx(mc, abs=3e-3)


def test_optimal_discriminator_reads_the_jsd_and_a_1_lipschitz_critic_reads_w1():
    d, sigma = 1.0, 1.0
    g = torch.Generator().manual_seed(3)
    real = sigma * torch.randn(200_000, 2, generator=g)
    fake = sigma * torch.randn(200_000, 2, generator=g) + torch.tensor([d, 0.0])
    # D*(x) = p / (p + q): logit log p(x)/q(x) = (d^2 - 2 d x_1) / (2 sigma^2), a linear function of x
    d_star = Linear2d([-d / sigma ** 2, 0.0], b=d ** 2 / (2 * sigma ** 2))
    for name in ("minimax", "non-saturating"):
        assert V.distance_estimate(d_star, name, real, fake) == pytest.approx(_jsd_shifted_gaussians(d, sigma), abs=4e-3)
    # f(x) = -x_1 is 1-Lipschitz and optimal for a translation: E_p f - E_q f = d = W1
    f = Linear2d([-1.0, 0.0])
    for name in ("wgan", "wgan-gp"):
        assert V.distance_estimate(f, name, real, fake) == pytest.approx(d, abs=0.02)
    with pytest.raises(ValueError, match="hinge"):
        V.distance_estimate(f, "hinge", real, fake)


def test_shifted_blob_is_the_blob_moved_and_has_nothing_to_train():
    G = V.ShiftedBlob(1.5, 0.1, nz=3)
    z = torch.randn(10, 3)
    torch.testing.assert_close(G(z), 0.1 * z[:, :2] + torch.tensor([1.5, 0.0]))
    assert not any(p.requires_grad for p in G.parameters())


def test_shift_experiment_returns_exact_values_and_one_reading_per_shift():
    cfg = gl.preset("variants-shift", size="quick")
    out = V.shift_experiment(cfg, [0.0, 1.0], losses=("non-saturating", "wgan-gp"), n_test=256)
    assert out["shifts"] == [0.0, 1.0] and out["w1"] == [0.0, 1.0]
    assert out["jsd"][0] == pytest.approx(0.0, abs=1e-9) and out["jsd"][1] == pytest.approx(math.log(2), abs=1e-6)
    assert len(out["non-saturating"]) == len(out["wgan-gp"]) == 2
    assert all(math.isfinite(v) for v in out["non-saturating"] + out["wgan-gp"])


def test_mnist_evaluator_scores_digits_against_its_reference_features():
    torch.manual_seed(0)
    model = gl.metrics.MNISTClassifier().eval()  # untrained: the plumbing, not the numbers, is under test
    real = torch.rand(300, 1, 28, 28) * 2 - 1
    evaluate = V.MNISTEvaluator(real, n=50, classifier=model)
    same = evaluate.score(real)
    assert same["frechet"] == pytest.approx(0.0, abs=1e-6) and 1.0 <= same["mnist_score"] <= 10.0
    other = torch.rand(300, 1, 28, 28) - 1
    m = gl.metrics
    expect = m.frechet_distance(m.features(model, real), m.features(model, other))
    assert evaluate.score(other)["frechet"] == pytest.approx(expect, rel=1e-6) and expect > 0
    assert evaluate.score(other)["mnist_score"] == pytest.approx(m.mnist_score(m.probabilities(model, other)))
    G = gl.models.MLPGenerator(nz=8, ngf=8)
    run = type("R", (), {"G": G, "cfg": gl.Config(nz=8)})()
    scores = evaluate(run)  # n fresh digits of G, the same ones every call
    fake = m.generate(G, 50, 8, seed=0)
    assert scores == evaluate(run) and scores["frechet"] == pytest.approx(evaluate.score(fake)["frechet"])


# ---------------------------------------------------------------- a clipped critic reads at most K W1
def test_lipschitz_bound_is_the_product_of_spectral_norms_and_bounds_every_slope():
    torch.manual_seed(0)
    lin = nn.Linear(2, 1)
    assert V.lipschitz_bound(lin) == pytest.approx(lin.weight.norm().item(), rel=1e-6)  # a linear critic: ||w||
    cfg = _ring_cfg()
    _, D = gl.models.build(cfg)
    norms = [torch.linalg.matrix_norm(m.weight.double(), ord=2).item() for m in D.modules() if isinstance(m, nn.Linear)]
    K = V.lipschitz_bound(D)
    assert K == pytest.approx(math.prod(norms), rel=1e-9)
    x, x2 = torch.randn(2000, 2), torch.randn(2000, 2)
    with torch.no_grad():
        slopes = (D(x) - D(x2)).abs() / (x - x2).norm(dim=1)
    assert slopes.max().item() <= K                  # a bound, and (as usual) a loose one
    leaky = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(1.5), nn.Linear(4, 1))
    assert V.lipschitz_bound(leaky) == pytest.approx(1.5 * math.prod(
        torch.linalg.matrix_norm(m.weight.double(), ord=2).item() for m in (leaky[0], leaky[2])), rel=1e-9)
    with pytest.raises(ValueError, match="BatchNorm1d"):
        V.lipschitz_bound(nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="packed"):
        V.lipschitz_bound(gl.models.PointDiscriminator(pack=2))


def test_the_clipped_critics_gap_never_exceeds_k_times_the_exact_w1():
    """Kantorovich-Rubinstein on the tracker's own samples: gap <= K W1 exactly, K from lipschitz_bound."""
    cfg = V.config_for(_ring_cfg(max_steps=6), "wgan", 512).replace(snapshot_every=2)
    data = toy2d.data("ring", 512)
    tracker = V.W1Tracker(data, n=64)
    run = gl.fit(*gl.models.build(cfg), data, cfg, progress=False, snapshot=gl.train.blank_frame,
                 callbacks={"on_snapshot": tracker})
    assert len(tracker.lipschitz) == len(tracker.steps) == 3
    assert max(tracker.lipschitz) < 1   # every weight in [-0.01, 0.01]: K is far below 1
    for gap, K, w1 in zip(tracker.gap, tracker.lipschitz, tracker.w1):
        assert gap <= K * w1 + 1e-9
    assert V.lipschitz_bound(run.D) == pytest.approx(tracker.lipschitz[-1])


def test_shift_experiment_records_each_critics_bound():
    cfg = gl.preset("variants-shift", size="quick")
    out = V.shift_experiment(cfg, [0.0, 1.0], losses=("wgan",), n_test=256)
    assert len(out["lipschitz"]["wgan"]) == 2 and all(0 < k < 1 for k in out["lipschitz"]["wgan"])


def test_shift_experiment_with_a_cache_name_loads_the_second_time(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path))
    cfg = gl.preset("variants-shift", size="quick")
    out = V.shift_experiment(cfg, [1.0], losses=("wgan",), n_test=64, cache="shift")
    assert V.shift_experiment(cfg, [1.0], losses=("wgan",), n_test=64, cache="shift") == out
    assert "shift: loaded from the result cache" in capsys.readouterr().out
    V.shift_experiment(cfg, [0.5], losses=("wgan",), n_test=64, cache="shift")  # another shift: trains again
    assert "out of date" in capsys.readouterr().out


# ---------------------------------------------------------------- the chapter's targets
class _R:
    def __init__(self, **m):
        self.metrics = m


def test_checks_assert_only_the_targets_set_at_this_size():
    quick = gl.preset("variants-ring", size="quick").chapter
    assert quick.min_modes is None
    ring = gl.preset("variants-ring", size="book").chapter
    results = {"a": _R(modes=7, hq=0.2), "b": _R(modes=3, hq=0.5)}
    rows = V.check_ring(results, ring)
    assert [(r["measured"], r["met"]) for r in rows] == [(7.0, "yes"), (0.5, "yes")]
    assert {r["met"] for r in V.check_ring(results, quick)} == {"not checked at this size"}
    with pytest.raises(AssertionError, match=r"most modes covered = 5, the target is >= 6"):
        V.check_ring({"a": _R(modes=5, hq=0.9)}, ring)
    shift = gl.preset("variants-shift", size="book").chapter
    readings = {"shifts": [0.0, 1.0, 2.0], "w1": [0.0, 1.0, 2.0], "non-saturating": [0.0, 0.69, 0.693],
                "wgan-gp": [0.01, 1.1, 2.2]}
    assert V.check_shift(readings, shift)[1]["measured"] == pytest.approx(0.1)
    with pytest.raises(AssertionError, match=r"WGAN-GP's gap minus d, largest \|\.\| / d for d >= 0\.7 = 0\.5, "
                                             r"the target is <= 0\.25"):
        V.check_shift({**readings, "wgan-gp": [0.0, 1.5, 2.0]}, shift)
    with pytest.raises(AssertionError, match=r"D's reading minus ln 2, .* = 0\.1931, the target is <= 0\.05"):
        V.check_shift({**readings, "non-saturating": [0.0, 0.5, 0.69]}, shift)
    mnist = gl.preset("variants-mnist", size="book").chapter
    assert mnist.losses == ("non-saturating", "lsgan", "wgan") and gl.preset("variants-mnist", size="quick").chapter.losses is None
    assert [r["met"] for r in V.check_mnist({"a": _R(mnist_score=2.5, frechet=40.0)}, mnist)] == ["yes", "yes"]
    with pytest.raises(AssertionError, match=r"best MNIST score = 1\.5, the target is >= 2"):
        V.check_mnist({"a": _R(mnist_score=1.5, frechet=40.0)}, mnist)


# ---------------------------------------------------------------- source 003 on CIFAR-10
def test_cifar10_preset_builds_colour_nets_and_trains_on_cifar_shaped_data():
    for size in ("quick", "book", "full"):
        cfg = gl.preset("cifar10-dcgan", size=size)
        assert (cfg.nc, cfg.image_size, cfg.arch, cfg.k) == (3, 32, "dcgan", 1)
        G, D = gl.models.build(cfg)
        x = G(torch.randn(2, cfg.nz))
        assert x.shape == (2, 3, 32, 32) and D(x).shape == (2,)
    full = gl.preset("cifar10-dcgan", size="full")
    assert (full.ngf, full.ndf, full.batch_size, full.lr, full.beta1) == (64, 64, 128, 2e-4, 0.5)
    mlp = gl.preset("cifar10-dcgan", size="full", arch="mlp", ngf=256, ndf=256)  # source 003's MLP GAN
    G, D = gl.models.build(mlp)
    assert G(torch.randn(2, 100)).shape == (2, 3, 32, 32) and L.check_critic(D, "wgan-gp")
    cfg = gl.preset("cifar10-dcgan", size="quick", n_train=64, max_steps=2)
    g = torch.Generator().manual_seed(0)
    fake_cifar = gl.data.ImageData(torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8, generator=g),
                                   torch.randint(0, 10, (64,), generator=g))
    run = gl.fit(*gl.models.build(cfg), fake_cifar, cfg, progress=False)
    assert run.step == 2 and run.history.snapshots[-1].shape[-1] == 3
