"""ganlib.steps and the GANStep protocol: variations of the training step are subclasses that override one
method. FrozenG (D alone), GradientProbe (G's gradient norms under several losses, G frozen), Unrolled
(G against D unrolled K steps ahead: D untouched, the look-ahead faithful, and the differentiable variant's
gradient right by finite differences), and a custom subclass honoured by fit."""
import copy

import pytest
import torch

import ganlib as gl
from ganlib import steps, toy2d
from ganlib import train as T
from ganlib.models import PointDiscriminator, PointGenerator

CPU = torch.device("cpu")
LOSS = gl.losses.get("non-saturating")


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


def _toy_cfg(**fields):
    base = dict(name="toy", arch="toy2d", nz=2, ngf=16, ndf=16, batch_size=64, num_epochs=1, n_fixed=16,
                snapshot_every=100, log_every=100, seed=0, lr=1e-3)
    return gl.Config(**{**base, **fields})


def _setup(width=8, n=64, opt="adam"):
    """A run on the ring whose D's optimiser already has some state (the unrolled copy must start from it).
    Everything in the default dtype (float64 under the ``float64`` fixture)."""
    dtype = torch.get_default_dtype()
    torch.manual_seed(0)
    G = PointGenerator(nz=2, width=width, depth=1)
    D = PointDiscriminator(width=width, depth=1)
    data = toy2d.data("ring", n=n, seed=0)
    data.x = data.x.to(dtype)
    run = T.new_run(_toy_cfg(batch_size=16), G, D, data, device=CPU)
    if opt == "adam":
        run.opt_d = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    else:
        run.opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    run.opt_g = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.999))
    for _ in range(3):
        gl.GANStep().d_step(run, data.x[:16], None)
    return run, data


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# ---------------------------------------------------------------- the protocol
def test_gan_step_runs_k_d_steps_then_one_g_step():
    calls = []

    class Counting(gl.GANStep):
        def d_step(self, run, real, y, D=None, opt_d=None):
            calls.append(("d", run.step))
            return super().d_step(run, real, y, D, opt_d)

        def g_step(self, run):
            calls.append(("g", run.step))
            return super().g_step(run)

    data = toy2d.data("ring", n=64 * 7, seed=0)
    run = gl.fit(*gl.models.build(_toy_cfg(k=3)), data, _toy_cfg(k=3), step=Counting(), progress=False,
                 snapshot=T.blank_frame, device=CPU)
    assert len(run.history) == 2  # 7 batches: 2 G updates of 3 D steps; the 7th batch is left over
    assert calls == [("d", 0)] * 3 + [("g", 0)] + [("d", 1)] * 3 + [("g", 1)]


def test_a_custom_g_loss_is_honoured_by_fit():
    data = toy2d.data("ring", n=256, seed=0)
    cfg = _toy_cfg(max_steps=3)

    class PlusConstant(gl.GANStep):
        def __init__(self):
            self.seen = []

        def g_loss(self, run, z, fake, adversarial):
            self.seen.append(adversarial.item())
            return super().g_loss(run, z, fake, adversarial) + 5.0  # shifts the loss, not its gradient

    class Zero(gl.GANStep):
        def g_loss(self, run, z, fake, adversarial):
            return 0.0 * adversarial  # no gradient at all: G cannot move

    def fit(step):
        return gl.fit(*gl.models.build(cfg), data, cfg, step=step, progress=False, snapshot=T.blank_frame, device=CPU)

    plain, shifted = fit(gl.GANStep()), PlusConstant()
    run = fit(shifted)
    assert shifted.seen == run.history.loss_g and len(shifted.seen) == 3  # called once per G update
    for a, b in zip(plain.G.parameters(), run.G.parameters()):
        torch.testing.assert_close(a, b)  # a constant changes no gradient: the same G as the plain step
    G0, _ = gl.models.build(cfg)
    frozen = fit(Zero())
    for a, b in zip(G0.parameters(), frozen.G.parameters()):
        assert torch.equal(a, b)  # the custom loss was used: G never moved
    assert any(not torch.equal(a, b) for a, b in zip(G0.parameters(), plain.G.parameters()))


def test_a_custom_d_loss_and_g_opponent_are_honoured():
    data = toy2d.data("ring", n=256, seed=0)
    cfg = _toy_cfg(max_steps=2)
    opponents = []

    class Custom(gl.GANStep):
        def d_loss(self, run, *args):
            return 0.0 * super().d_loss(run, *args)  # D never moves

        def g_opponent(self, run, batch_size):
            opponents.append(batch_size)
            return super().g_opponent(run, batch_size)

    _, D0 = gl.models.build(cfg)
    run = gl.fit(*gl.models.build(cfg), data, cfg, step=Custom(), progress=False, snapshot=T.blank_frame, device=CPU)
    for a, b in zip(D0.parameters(), run.D.parameters()):
        assert torch.equal(a, b)
    assert opponents == [cfg.batch_size] * 2


# ---------------------------------------------------------------- FrozenG: D alone
def test_frozen_g_leaves_g_unchanged_and_d_learns():
    data = toy2d.data("ring", n=512, seed=0)
    cfg = _toy_cfg(num_epochs=4, lr=1e-2, loss="minimax")
    G, D = gl.models.build(cfg)
    g0, d0 = _snapshot(G), _snapshot(D)
    run = gl.fit(G, D, data, cfg, step=steps.FrozenG(), progress=False, snapshot=T.blank_frame, device=CPU)
    assert len(run.history) == 32
    for k, v in _snapshot(run.G).items():
        torch.testing.assert_close(v, g0[k], rtol=0, atol=0)
    assert all(p.grad is None for p in run.G.parameters())  # not even a gradient was computed for G
    assert any(not torch.equal(v, d0[k]) for k, v in _snapshot(run.D).items())
    h = run.history
    # D learns to tell the ring from G's blob: D(x) rises, D(G(z)) falls, Loss_D falls
    assert h.d_x[-1] > 0.9 > 0.6 > h.d_x[0] and h.d_g_z2[-1] < 0.1 < h.d_g_z2[0]
    assert sum(h.loss_d[-4:]) < 0.2 * sum(h.loss_d[:4])
    # what it reports for G is G's loss against the current D, computed without a step
    with torch.no_grad():
        assert h.loss_g[-1] == pytest.approx(
            float(run.loss.g(run.D(run.G(torch.randn(4096, 2))))), abs=0.05)


def test_frozen_g_step_reports_loss_g_and_d_g_z2():
    run, _ = _setup()
    before = _snapshot(run.G)
    stats = steps.FrozenG().g_step(run)
    assert set(stats) == {"loss_g", "d_g_z2"} and 0 < stats["d_g_z2"] < 1
    for k, v in _snapshot(run.G).items():
        assert torch.equal(v, before[k])


# ---------------------------------------------------------------- GradientProbe
def test_gradient_probe_matches_the_closed_form_and_freezes_g():
    """For one sample with logit t, grad log(1 - sigmoid(t)) = -D grad t and grad -log sigmoid(t) = -(1 - D) grad t,
    so the two gradient norms are in the ratio D / (1 - D) (chapter 2)."""
    torch.manual_seed(0)
    G, D = PointGenerator(2, 8, 1), PointDiscriminator(2, 8, 1)
    data = toy2d.data("ring", n=16, seed=0)
    run = T.new_run(_toy_cfg(batch_size=1, loss="minimax"), G, D, data, device=CPU)
    probe = steps.GradientProbe()
    before = [p.detach().clone() for p in G.parameters()]
    replay = torch.Generator().set_state(run.generator.get_state())
    stats = probe.g_step(run)
    z = torch.randn(1, 2, generator=replay)  # the noise the probe drew
    d = torch.sigmoid(D(G(z))).item()
    ratio = probe.norms["minimax"][0] / probe.norms["non-saturating"][0]
    assert ratio == pytest.approx(d / (1 - d), rel=1e-5)
    assert probe.d_fake[0] == pytest.approx(d)
    assert stats["d_g_z2"] == pytest.approx(d) and stats["loss_g"] == pytest.approx(torch.log1p(torch.tensor(-d)).item())
    # independent computation of the non-saturating norm with backward()
    G.zero_grad()
    gl.losses.get("non-saturating").g(D(G(z))).backward()
    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in G.parameters())).item()
    assert probe.norms["non-saturating"][0] == pytest.approx(norm, rel=1e-5)
    for p, q in zip(G.parameters(), before):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_gradient_probe_in_fit_trains_d_only_and_records_every_loss():
    data = toy2d.data("ring", n=512, seed=0)
    cfg = _toy_cfg(num_epochs=3, n_fixed=8, snapshot_every=1000, log_every=1000, lr=1e-2, loss="minimax")
    G, D = gl.models.build(cfg)
    g0 = [p.detach().clone() for p in G.parameters()]
    probe = steps.GradientProbe(("minimax", "non-saturating", "lsgan"))
    run = gl.fit(G, D, data, cfg, step=probe, progress=False, snapshot=T.blank_frame, device=CPU)
    assert set(probe.norms) == {"minimax", "non-saturating", "lsgan"}
    assert all(len(v) == len(run.history) == 24 for v in probe.norms.values()) and len(probe.d_fake) == 24
    for p, q in zip(run.G.parameters(), g0):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    # D learns to reject G's samples, and the saturating gradient fades relative to the non-saturating one
    assert probe.d_fake[-1] < 0.5 * probe.d_fake[0]
    first = probe.norms["minimax"][0] / probe.norms["non-saturating"][0]
    last = probe.norms["minimax"][-1] / probe.norms["non-saturating"][-1]
    assert last < 0.5 * first
    with pytest.raises(KeyError, match="Unknown loss"):
        steps.GradientProbe(("minimax", "nope"))


# ---------------------------------------------------------------- Unrolled
@pytest.mark.parametrize("differentiable", [False, True])
def test_unrolled_step_leaves_d_and_its_optimiser_unchanged_and_moves_g(differentiable):
    run, data = _setup()
    d_before, g_before = _snapshot(run.D), _snapshot(run.G)
    od_before = copy.deepcopy(run.opt_d.state_dict())
    stats = steps.Unrolled(data, unroll=3, differentiable=differentiable).g_step(run)
    assert set(stats) == {"loss_g", "d_g_z2"}
    for k, v in _snapshot(run.D).items():
        torch.testing.assert_close(v, d_before[k], rtol=0, atol=0)
    od_after = run.opt_d.state_dict()
    for i, st in od_before["state"].items():
        for name, value in st.items():
            torch.testing.assert_close(od_after["state"][i][name], value, rtol=0, atol=0)
    assert any(not torch.equal(v, g_before[k]) for k, v in _snapshot(run.G).items())


def test_unroll_must_be_at_least_one_and_the_repr_says_which_variant():
    _, data = _setup()
    for bad in (0, -1):
        with pytest.raises(ValueError, match=rf"unroll must be >= 1 \(the plain step is GANStep\), got {bad}"):
            steps.Unrolled(data, unroll=bad)
    assert "cheap" in repr(steps.Unrolled(data, 2)) and "Metz" in repr(steps.Unrolled(data, 2, differentiable=True))


def test_the_unrolled_g_update_is_the_ordinary_g_step_against_the_lookahead():
    """Unrolled changes only G's opponent: its G update equals GANStep.g_step played against D_K."""
    run_a, data = _setup()
    run_b = copy.deepcopy(run_a)
    start = run_a.generator.get_state()
    steps.Unrolled(data, unroll=2).g_step(run_a)
    # run B: the same noise for G, then the same look-ahead, then the plain G step against it
    run_b.sample_z(run_b.cfg.batch_size)
    D_K = steps.Unrolled(data, unroll=2).g_opponent(run_b, run_b.cfg.batch_size)
    after = run_b.generator.get_state()
    run_b.generator.set_state(start)

    class AgainstDK(gl.GANStep):
        def g_opponent(self, run, batch_size):
            run.generator.set_state(after)  # where the look-ahead left the RNG
            return D_K

    AgainstDK().g_step(run_b)
    for a, b in zip(run_a.G.parameters(), run_b.G.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert torch.equal(run_a.generator.get_state(), run_b.generator.get_state())


def test_cheap_lookahead_is_what_k_real_d_steps_would_make():
    """The unrolled copy equals D after `unroll` real d_steps (same batches, same optimiser state)."""
    run, data = _setup()
    state = run.generator.get_state()
    D_K = steps.Unrolled(data, unroll=4).g_opponent(run, 16)
    run.generator.set_state(state)  # replay the same batches on the real D with its real optimiser
    for _ in range(4):
        idx = torch.randint(len(data), (16,), generator=run.generator)
        gl.GANStep().d_step(run, data.x[idx], None)  # draws its noise from the run's generator, as D_K's did
    probe = torch.randn(50, 2)
    torch.testing.assert_close(D_K(probe), run.D(probe))


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_differentiable_lookahead_matches_the_torch_optimiser(opt):
    """The functional Adam/SGD steps reproduce torch.optim's steps (up to the eps^2 under the root)."""
    run, data = _setup(opt=opt)
    state = run.generator.get_state()
    cheap = steps.Unrolled(data, unroll=4).g_opponent(run, 16)
    run.generator.set_state(state)
    diff = steps.Unrolled(data, unroll=4, differentiable=True).g_opponent(run, 16)
    probe = torch.randn(50, 2)
    torch.testing.assert_close(diff(probe), cheap(probe), rtol=1e-4, atol=1e-5)


def test_differentiable_lookahead_refuses_optimisers_it_cannot_differentiate():
    run, data = _setup()
    run.opt_d = torch.optim.AdamW(run.D.parameters())
    with pytest.raises(NotImplementedError, match="knows Adam, RMSprop and SGD, not AdamW; use differentiable=False"):
        steps.Unrolled(data, 2, differentiable=True).g_opponent(run, 16)
    run.opt_d = torch.optim.SGD(run.D.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(NotImplementedError, match="momentum"):
        steps.Unrolled(data, 2, differentiable=True).g_opponent(run, 16)
    steps.Unrolled(data, 2).g_opponent(run, 16)  # the cheap variant takes any optimiser


def test_differentiable_gradient_matches_finite_differences(float64):
    """d f / d theta_G through the unrolled D steps, checked by central differences (float64)."""
    run, data = _setup(width=4)
    G = run.G
    state = run.generator.get_state()
    z = torch.randn(16, 2, generator=torch.Generator().manual_seed(4))
    step = steps.Unrolled(data, unroll=3, differentiable=True)

    def f():
        run.generator.set_state(state)  # the same real batches and noise every time
        D_K = step.g_opponent(run, 16)
        return LOSS.g(D_K(G(z)))

    params = list(G.parameters())
    grads = torch.autograd.grad(f(), params)
    # the cheap variant's gradient (theta_D^K held fixed) differs: the second term is not zero
    run.generator.set_state(state)
    D_fixed = steps.Unrolled(data, unroll=3).g_opponent(run, 16)
    cheap_grads = torch.autograd.grad(LOSS.g(D_fixed(G(z))), params)
    assert max((a - b).abs().max().item() for a, b in zip(grads, cheap_grads)) > 1e-6
    h = 1e-6
    w = params[0]  # G's first weight matrix: check every entry
    numeric = torch.zeros_like(w)

    def nudge(i, by):
        with torch.no_grad():
            w.view(-1)[i] += by

    for i in range(w.numel()):
        nudge(i, h)
        plus = f().item()
        nudge(i, -2 * h)
        minus = f().item()
        nudge(i, h)
        numeric.view(-1)[i] = (plus - minus) / (2 * h)
    torch.testing.assert_close(grads[0], numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("differentiable", [False, True])
def test_fit_with_the_unrolled_step_trains(differentiable):
    data = toy2d.data("ring", n=256, seed=0)
    cfg = _toy_cfg()
    G, D = gl.models.build(cfg)
    step = steps.Unrolled(data, unroll=2, differentiable=differentiable)
    run = gl.fit(G, D, data, cfg, step=step, progress=False, device=CPU,
                 snapshot=lambda r: toy2d.frame(r, data.centers, size=64))
    assert len(run.history) == 4
    assert all(torch.isfinite(torch.tensor(run.history.loss_g)))
    assert run.history.snapshots[-1].shape == (64, 64, 3)
