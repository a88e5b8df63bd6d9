"""Tests for ganlib.unrolled: the unrolled G step leaves D alone, looks ahead faithfully, and (differentiable
variant) backpropagates through the unrolled D steps correctly."""
import copy

import pytest
import torch

import ganlib as gl
from ganlib import toy2d, unrolled

LOSS = gl.losses.get("non-saturating")


def _setup(dtype=torch.float32, width=8, n=64, opt="adam"):
    torch.manual_seed(0)
    G = toy2d.Generator2d(nz=2, width=width, depth=1).to(dtype)
    D = toy2d.Discriminator2d(width=width, depth=1).to(dtype)
    data = toy2d.data("ring", n=n, seed=0)
    data.x = data.x.to(dtype)
    if opt == "adam":
        opt_d = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    else:
        opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.999))
    # give D's optimiser some state first: the unrolled copy must start from it
    for _ in range(3):
        gl.d_step(G, D, opt_d, data.x[:16], torch.randn(16, 2, dtype=dtype), LOSS)
    return G, D, data, opt_d, opt_g


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _opt_snapshot(opt):
    return copy.deepcopy(opt.state_dict())


@pytest.mark.parametrize("differentiable", [False, True])
def test_step_leaves_d_and_its_optimiser_unchanged_and_moves_g(differentiable):
    G, D, data, opt_d, opt_g = _setup()
    d_before, g_before, od_before = _snapshot(D), _snapshot(G), _opt_snapshot(opt_d)
    step = unrolled.unrolled_g_step(data, unroll=3, differentiable=differentiable, opt_d=opt_d,
                                    generator=torch.Generator().manual_seed(1), nz=2)
    stats = step(G, D, opt_g, torch.randn(16, 2), LOSS)
    assert set(stats) == {"loss_g", "d_g_z2"}
    for k, v in _snapshot(D).items():
        torch.testing.assert_close(v, d_before[k], rtol=0, atol=0)
    od_after = opt_d.state_dict()
    for i, st in od_before["state"].items():
        for name, value in st.items():
            torch.testing.assert_close(od_after["state"][i][name], value, rtol=0, atol=0)
    assert any(not torch.equal(v, g_before[k]) for k, v in _snapshot(G).items())


def test_unroll_zero_is_the_ordinary_g_step():
    G, D, data, opt_d, opt_g = _setup()
    G2, opt_g2 = copy.deepcopy(G), None
    opt_g2 = torch.optim.Adam(G2.parameters(), lr=1e-2, betas=(0.5, 0.999))
    z = torch.randn(16, 2)
    step = unrolled.unrolled_g_step(data, unroll=0, opt_d=opt_d, generator=torch.Generator().manual_seed(1), nz=2)
    a = step(G, D, opt_g, z, LOSS)
    b = gl.g_step(G2, D, opt_g2, z, LOSS)
    assert a["loss_g"] == pytest.approx(b["loss_g"])
    for p, q in zip(G.parameters(), G2.parameters()):
        torch.testing.assert_close(p, q)


def test_cheap_lookahead_is_what_k_real_d_steps_would_make():
    """The unrolled copy equals D after `unroll` real d_steps (same batches, same optimiser state)."""
    G, D, data, opt_d, _ = _setup()
    gen = torch.Generator().manual_seed(2)
    state = gen.get_state()
    step = unrolled.unrolled_g_step(data, unroll=4, opt_d=opt_d, generator=gen, nz=2)
    D_K = step.lookahead(G, D, LOSS, 16)
    gen.set_state(state)  # replay the same batches on the real D with its real optimiser
    for _ in range(4):
        idx = torch.randint(len(data), (16,), generator=gen)
        z = torch.randn(16, 2, generator=gen)
        gl.d_step(G, D, opt_d, data.x[idx], z, LOSS)
    probe = torch.randn(50, 2)
    torch.testing.assert_close(D_K(probe), D(probe))


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_differentiable_lookahead_matches_the_torch_optimiser(opt):
    """The functional Adam/SGD steps reproduce torch.optim's steps (up to the eps^2 under the root)."""
    G, D, data, opt_d, _ = _setup(opt=opt)
    gen = torch.Generator().manual_seed(3)
    state = gen.get_state()
    cheap = unrolled.unrolled_g_step(data, unroll=4, opt_d=opt_d, generator=gen, nz=2).lookahead(G, D, LOSS, 16)
    gen.set_state(state)
    diff = unrolled.unrolled_g_step(data, unroll=4, differentiable=True, opt_d=opt_d, generator=gen,
                                    nz=2).lookahead(G, D, LOSS, 16)
    probe = torch.randn(50, 2)
    torch.testing.assert_close(diff(probe), cheap(probe), rtol=1e-4, atol=1e-5)


def test_differentiable_gradient_matches_finite_differences():
    """d f / d theta_G through the unrolled D steps, checked by central differences (float64)."""
    G, D, data, opt_d, _ = _setup(dtype=torch.float64, width=4)
    gen = torch.Generator().manual_seed(4)
    state = gen.get_state()
    z = torch.randn(16, 2, dtype=torch.float64)
    step = unrolled.unrolled_g_step(data, unroll=3, differentiable=True, opt_d=opt_d, generator=gen, nz=2)

    def f():
        gen.set_state(state)  # the same real batches and noise every time
        D_K = step.lookahead(G, D, LOSS, 16)
        return LOSS.g(D_K(G(z)))

    params = list(G.parameters())
    grads = torch.autograd.grad(f(), params)
    # the cheap variant's gradient (theta_D^K held fixed) differs: the second term is not zero
    gen.set_state(state)
    cheap_step = unrolled.unrolled_g_step(data, unroll=3, opt_d=opt_d, generator=gen, nz=2)
    D_fixed = cheap_step.lookahead(G, D, LOSS, 16)
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


def test_unbound_step_explains_what_it_needs():
    G, D, data, _, opt_g = _setup()
    step = unrolled.unrolled_g_step(data, unroll=2)
    with pytest.raises(RuntimeError, match="bind"):
        step(G, D, opt_g, torch.randn(4, 2), LOSS)
    with pytest.raises(ValueError, match="unroll"):
        unrolled.unrolled_g_step(data, unroll=-1)


@pytest.mark.parametrize("differentiable", [False, True])
def test_fit_binds_the_step_and_trains(differentiable):
    data = toy2d.data("ring", n=256, seed=0)
    cfg = gl.Config(name="toy", nz=2, ngf=16, ndf=16, batch_size=64, num_epochs=1, n_fixed=16,
                    snapshot_every=100, log_every=100, seed=0, lr=1e-3)
    G, D = toy2d.build(cfg)
    step = unrolled.unrolled_g_step(data, unroll=2, differentiable=differentiable)
    run = gl.fit(G, D, data, cfg, g_step_fn=step, progress=False,
                 snapshot=lambda r: toy2d.frame(r, data.centers, size=64))
    assert step.run is run and step.opt_d is run.opt_d and step.generator is run.generator
    assert len(run.history) == 4
    assert all(torch.isfinite(torch.tensor(run.history.loss_g)))
