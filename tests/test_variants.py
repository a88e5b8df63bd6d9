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


def _ring_cfg(**extra):
    cfg = gl.preset("variants-ring", size="quick")
    return cfg.replace(extra={**cfg.extra, **extra})


class Linear2d(nn.Module):
    def __init__(self, w, b=0.0):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(float(b), dtype=torch.float64))

    def forward(self, x, y=None):
        return x.double() @ self.w + self.b


# ---------------------------------------------------------------- the budget
def test_config_for_gives_each_loss_its_paper_settings_and_the_same_g_updates():
    cfg = _ring_cfg(g_updates=37)
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
    with pytest.raises(KeyError, match="g_updates"):
        V.config_for(cfg.replace(extra={}), "wgan", n)
    with pytest.raises(ValueError, match="fewer than k=5"):
        V.config_for(cfg, "wgan-gp", 4 * cfg.batch_size)


def test_compare_trains_every_loss_for_the_same_g_updates_and_repeats_exactly():
    cfg = _ring_cfg(g_updates=4)
    data = toy2d.data("ring", 512)
    blank = V.no_snapshot
    names = ("non-saturating", "wgan-gp")
    a = V.compare(cfg, data, toy2d.build, V.ring_evaluator(data, n=200), losses=names, snapshot=blank, log=None)
    b = V.compare(cfg, data, toy2d.build, V.ring_evaluator(data, n=200), losses=names, snapshot=blank, log=None)
    assert list(a) == list(names)
    assert [len(r.run.history) for r in a.values()] == [4, 4] and [r.d_steps for r in a.values()] == [4, 20]
    for name in names:
        assert set(a[name].metrics) == {"modes", "hq"} and 0 <= a[name].metrics["hq"] <= 1
        assert a[name].run.history.loss_d == b[name].run.history.loss_d  # same seed, same run
    assert a["non-saturating"].run.history.loss_d != a["wgan-gp"].run.history.loss_d
    text = V.table({"ring": a, "other": {"wgan-gp": b["wgan-gp"]}})
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in text.splitlines()[2:]}
    assert list(rows) == list(names) and len(rows["wgan-gp"]) == len(rows["non-saturating"]) == 2 + 3 + 3
    assert rows["non-saturating"][1] == "1" and rows["wgan-gp"][1] == "5" and rows["non-saturating"][-1] == "- |"
    assert rows["wgan-gp"][2] == str(a["wgan-gp"].metrics["modes"])
    assert "ring: modes covered" in text and "other: high-quality share" in text and "Frechet" not in text
    frames, steps = V.side_by_side(a, ncol=2)
    assert steps == [0, 4] and len(frames) == 2 and frames[0].shape == (1 + 2 * 4, 2 + 3 * 4, 3)


# ---------------------------------------------------------------- the earth mover's distance
def test_exact_w1_of_a_translated_cloud_is_the_translation_length():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200, 2, generator=g, dtype=torch.float64)
    assert V.exact_w1(a, a + torch.tensor([0.3, -0.4], dtype=torch.float64)) == pytest.approx(0.5, rel=1e-9)
    assert V.exact_w1(a, a[torch.randperm(200, generator=g)]) == pytest.approx(0.0, abs=1e-12)


def test_exact_w1_in_one_dimension_matches_sorted_matching():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(300, 1, generator=g, dtype=torch.float64)
    b = 2 * torch.rand(300, 1, generator=g, dtype=torch.float64)
    expect = (a.view(-1).sort().values - b.view(-1).sort().values).abs().mean().item()
    assert V.exact_w1(a, b) == pytest.approx(expect, rel=1e-9)
    with pytest.raises(ValueError, match="same shape"):
        V.exact_w1(a, b[:10])


def test_critic_gap_of_a_linear_critic():
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g) + 1
    w = torch.tensor([0.6, -0.8], dtype=torch.float64)
    expect = float((real.double().mean(0) - fake.double().mean(0)) @ w)
    assert V.critic_gap(Linear2d(w, b=5.0), real, fake) == pytest.approx(expect, rel=1e-9)


def test_w1_tracker_records_gap_and_exact_w1_at_each_snapshot():
    cfg = V.config_for(_ring_cfg(g_updates=4), "wgan-gp", 512).replace(snapshot_every=2)
    data = toy2d.data("ring", 512)
    tracker = V.W1Tracker(data, n=64)
    G, D = toy2d.build(cfg)
    run = gl.fit(G, D, data, cfg, progress=False, snapshot=V.no_snapshot,
                 callbacks={"on_snapshot": tracker})
    assert tracker.steps == [2, 4]
    fake = gl.metrics.generate(run.G, 64, cfg.nz, seed=0)
    assert tracker.w1[-1] == pytest.approx(V.exact_w1(tracker.real, fake), rel=1e-9)
    assert tracker.gap[-1] == pytest.approx(V.critic_gap(run.D, tracker.real, fake), rel=1e-6)


# ---------------------------------------------------------------- what D's number means
def test_jsd_of_shifted_gaussians_limits_and_monte_carlo():
    assert V.jsd_shifted_gaussians(0.0, 0.1) == pytest.approx(0.0, abs=1e-9)
    assert V.jsd_shifted_gaussians(2.0, 0.1) == pytest.approx(math.log(2), abs=1e-9)
    # Monte Carlo: JSD = 1/2 E_p log(2p / (p + q)) + 1/2 E_q log(2q / (p + q)), with d = sigma = 1
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400_000, generator=g, dtype=torch.float64)
    log_ratio = lambda t, d: -0.5 * t ** 2 + 0.5 * (t - d) ** 2  # noqa: E731  log p/q at t, p = N(0,1), q = N(d,1)
    half = lambda lr: (math.log(2) - torch.nn.functional.softplus(-lr)).mean().item()  # noqa: E731  E log 2p/(p+q)
    mc = 0.5 * half(log_ratio(x, 1.0)) + 0.5 * half(-log_ratio(x + 1.0, 1.0))
    assert V.jsd_shifted_gaussians(1.0, 1.0) == pytest.approx(mc, abs=3e-3)


def test_optimal_discriminator_reads_the_jsd_and_a_1_lipschitz_critic_reads_w1():
    d, sigma = 1.0, 1.0
    g = torch.Generator().manual_seed(3)
    real = sigma * torch.randn(200_000, 2, generator=g)
    fake = sigma * torch.randn(200_000, 2, generator=g) + torch.tensor([d, 0.0])
    # D*(x) = p / (p + q): logit log p(x)/q(x) = (d^2 - 2 d x_1) / (2 sigma^2), a linear function of x
    d_star = Linear2d([-d / sigma ** 2, 0.0], b=d ** 2 / (2 * sigma ** 2))
    for name in ("minimax", "non-saturating"):
        assert V.distance_estimate(d_star, name, real, fake) == pytest.approx(V.jsd_shifted_gaussians(d, sigma), abs=4e-3)
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
