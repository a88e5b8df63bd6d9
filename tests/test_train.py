import math

import pytest
import torch

import ganlib as gl
from ganlib import losses as L
from ganlib import models as M
from ganlib import train as T


def _fit(cfg, data, **kw):
    G, D = M.build(cfg)
    return gl.fit(G, D, data, cfg, progress=False, **kw)


def test_same_seed_gives_the_same_history(tiny_cfg, tiny_data):
    a = _fit(tiny_cfg, tiny_data).history
    b = _fit(tiny_cfg, tiny_data).history
    assert len(a) == tiny_cfg.n_train // tiny_cfg.batch_size
    for name in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
        assert getattr(a, name) == getattr(b, name)
    for x, y in zip(a.snapshots, b.snapshots):
        torch.testing.assert_close(x, y)
    c = _fit(tiny_cfg.replace(seed=1), tiny_data).history
    assert c.loss_d != a.loss_d


def test_history_records_the_four_statistics_and_snapshots(tiny_cfg, tiny_data):
    run = _fit(tiny_cfg.replace(num_epochs=2), tiny_data)
    h = run.history
    n = 2 * (tiny_cfg.n_train // tiny_cfg.batch_size)
    assert len(h) == n and len(h.loss_d) == len(h.d_x) == len(h.d_g_z1) == len(h.d_g_z2) == len(h.seconds) == n
    assert h.epoch == [0] * (n // 2) + [1] * (n // 2)
    assert all(0 < p < 1 for p in h.d_x + h.d_g_z1 + h.d_g_z2)
    assert h.snapshot_steps == [0] + list(range(2, n + 1, 2))
    frame = h.snapshots[-1]
    assert frame.dtype == torch.uint8 and frame.dim() == 3 and frame.shape[2] == 1
    assert frame.shape[0] == 2 + 2 * (32 + 2)  # 4 fixed images in a 2x2 grid, padding 2


def test_k_discriminator_steps_per_generator_step(tiny_cfg, tiny_data):
    calls = {"d": 0, "g": 0}

    def d_counting(*args):
        calls["d"] += 1
        return T.d_step(*args)

    def g_counting(*args):
        calls["g"] += 1
        return T.g_step(*args)

    run = _fit(tiny_cfg.replace(k=3), tiny_data, d_step_fn=d_counting, g_step_fn=g_counting)
    batches = tiny_cfg.n_train // tiny_cfg.batch_size  # 6 batches: 2 G updates with 3 D steps each
    assert calls == {"d": 3 * (batches // 3), "g": batches // 3} and len(run.history) == batches // 3


def test_d_step_sends_no_gradient_into_g(tiny_cfg):
    G, D = M.build(tiny_cfg)
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    before = [p.clone() for p in G.parameters()]
    T.d_step(G, D, opt, torch.rand(4, 1, 32, 32) * 2 - 1, torch.randn(4, tiny_cfg.nz), L.get("minimax"))
    assert all(p.grad is None for p in G.parameters())
    for p, q in zip(before, G.parameters()):
        torch.testing.assert_close(p, q)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())


def test_g_step_changes_only_g(tiny_cfg):
    G, D = M.build(tiny_cfg)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2)
    d_before = [p.clone() for p in D.parameters()]
    g_before = [p.clone() for p in G.parameters()]
    stats = T.g_step(G, D, opt_g, torch.randn(4, tiny_cfg.nz), L.get("non-saturating"))
    assert set(stats) == {"loss_g", "d_g_z2"}
    for p, q in zip(d_before, D.parameters()):
        torch.testing.assert_close(p, q)
    assert any((p - q).abs().max() > 0 for p, q in zip(g_before, G.parameters()))


def test_callbacks_by_event_and_max_steps(tiny_cfg, tiny_data):
    seen = []
    run = _fit(tiny_cfg.replace(max_steps=4), tiny_data,
               callbacks={"on_step_end": lambda r: seen.append(r.step), "on_train_end": [lambda r: seen.append("end")]})
    assert seen == [1, 2, 3, 4, "end"] and run.step == 4
    with pytest.raises(ValueError, match="on_step_end"):
        _fit(tiny_cfg, tiny_data, callbacks={"on_batch": print})


def test_a_nan_stops_training_with_advice(tiny_cfg, tiny_data):
    def broken_d_step(*args):
        stats = T.d_step(*args)
        return {**stats, "loss_d": float("nan")}

    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        _fit(tiny_cfg, tiny_data, d_step_fn=broken_d_step)


def test_conditional_run_uses_a_class_grid(tiny_cfg, tiny_data):
    cfg = tiny_cfg.replace(n_classes=10, n_fixed=20, ngf=8, ndf=8)
    run = _fit(cfg.replace(max_steps=2), tiny_data)
    assert run.fixed_labels.tolist() == [c for c in range(10) for _ in range(2)]
    torch.testing.assert_close(run.fixed_noise[0], run.fixed_noise[2])  # same z down a column
    assert not torch.equal(run.fixed_noise[0], run.fixed_noise[1])
    frame = run.history.snapshots[-1]  # one row per class, one column per z
    assert frame.shape[:2] == (2 + 10 * (32 + 2), 2 + 2 * (32 + 2))
