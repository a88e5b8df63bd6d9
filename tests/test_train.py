"""ganlib.train: the GANStep protocol (k D steps, one G step), the loop of fit, History and its snapshots,
lr decay, divergence checks, and the conditional loss terms (matching-aware D, mode seeking) that
GANStep.d_loss / g_loss add when the Config switches them on."""
import copy
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ganlib as gl
from ganlib import checkpoint as C
from ganlib import losses as L
from ganlib import models as M
from ganlib import train as T

CPU = torch.device("cpu")


def _fit(cfg, data, **kw):
    G, D = M.build(cfg)
    return gl.fit(G, D, data, cfg, progress=False, device=CPU, **kw)


def _run(cfg, data):
    """A fresh Run (nothing trained) on the CPU."""
    G, D = M.build(cfg)
    return T.new_run(cfg, G, D, data, device=CPU)


# ---------------------------------------------------------------- the loop
def test_same_seed_gives_the_same_history(tiny_cfg, tiny_data):
    a = _fit(tiny_cfg, tiny_data).history
    b = _fit(tiny_cfg, tiny_data).history
    assert len(a) == tiny_cfg.n_train // tiny_cfg.batch_size
    for name in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
        assert getattr(a, name) == getattr(b, name)
    assert a.snapshot_steps == b.snapshot_steps and len(a.snapshots) == len(b.snapshots)
    for x, y in zip(a.snapshots, b.snapshots):
        np.testing.assert_array_equal(x, y)
    c = _fit(tiny_cfg.replace(seed=1), tiny_data).history
    assert c.loss_d != a.loss_d


def test_history_records_the_four_statistics_and_numpy_uint8_snapshots(tiny_cfg, tiny_data):
    run = _fit(tiny_cfg.replace(num_epochs=2), tiny_data)
    h = run.history
    n = 2 * (tiny_cfg.n_train // tiny_cfg.batch_size)
    assert len(h) == n and len(h.loss_d) == len(h.d_x) == len(h.d_g_z1) == len(h.d_g_z2) == len(h.seconds) == n
    assert h.epoch == [0] * (n // 2) + [1] * (n // 2)
    assert all(0 < p < 1 for p in h.d_x + h.d_g_z1 + h.d_g_z2)
    assert h.snapshot_steps == [0] + list(range(2, n + 1, 2))
    for frame in h.snapshots:
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
        assert frame.flags["C_CONTIGUOUS"] and frame.shape[2] == 1
    assert h.snapshots[-1].shape[0] == 2 + 2 * (32 + 2)  # 4 fixed images in a 2x2 grid, padding 2
    assert h.last() == {name: getattr(h, name)[-1] for name in h.STATS}


def test_history_keeps_snapshots_as_numpy_and_refuses_other_frames():
    h = gl.History()
    h.add_snapshot(0, torch.zeros(4, 5, 3, dtype=torch.uint8))  # a uint8 tensor is kept as an array
    h.add_snapshot(3, np.full((4, 5, 1), 7, np.uint8))
    assert all(isinstance(f, np.ndarray) and f.dtype == np.uint8 for f in h.snapshots)
    assert h.snapshot_steps == [0, 3]
    with pytest.raises(ValueError, match=r"uint8 image \(H, W, C\); got float32"):
        h.add_snapshot(4, np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"got uint8 \(4, 5\)"):
        h.add_snapshot(4, np.zeros((4, 5), np.uint8))
    back = gl.History.from_dict(h.to_dict())  # through a checkpoint's plain dict and back
    assert back.snapshot_steps == [0, 3]
    for a, b in zip(back.snapshots, h.snapshots):
        assert isinstance(a, np.ndarray)
        np.testing.assert_array_equal(a, b)


def test_callbacks_by_event_and_max_steps(tiny_cfg, tiny_data):
    seen = []
    run = _fit(tiny_cfg.replace(max_steps=4), tiny_data,
               callbacks={"on_step_end": lambda r: seen.append(r.step), "on_train_end": [lambda r: seen.append("end")]})
    assert seen == [1, 2, 3, 4, "end"] and run.step == 4
    with pytest.raises(ValueError, match="on_step_end"):
        _fit(tiny_cfg, tiny_data, callbacks={"on_batch": print})


def test_conditional_run_uses_a_class_grid(tiny_cfg, tiny_data):
    cfg = tiny_cfg.replace(n_classes=10, n_fixed=20, ngf=8, ndf=8)
    run = _fit(cfg.replace(max_steps=2), tiny_data)
    assert run.fixed_labels.tolist() == [c for c in range(10) for _ in range(2)]
    torch.testing.assert_close(run.fixed_noise[0], run.fixed_noise[2])  # same z down a column
    assert not torch.equal(run.fixed_noise[0], run.fixed_noise[1])
    frame = run.history.snapshots[-1]  # one row per class, one column per z
    assert frame.shape[:2] == (2 + 10 * (32 + 2), 2 + 2 * (32 + 2))


def test_too_little_data_for_k_batches_is_refused_before_training(tiny_cfg, tiny_data):
    with pytest.raises(ValueError, match=r"96 training samples give fewer than k=7 batches of batch_size=16"):
        _fit(tiny_cfg.replace(k=7), tiny_data)
    assert len(_fit(tiny_cfg.replace(k=6), tiny_data).history) == 1  # exactly k batches: one G update


def test_run_knows_its_loss_and_data(tiny_cfg, tiny_data):
    run = _run(tiny_cfg.replace(loss="lsgan"), tiny_data)
    assert run.loss is L.get("lsgan") and run.step == 0 and run.device == CPU
    assert run.data_id == T.data_identity(tiny_data)
    assert set(run.data_id) == {"source", "count", "shape", "fingerprint"}
    assert run.data_id["count"] == 96 and run.data_id["shape"] == [1, 32, 32]
    assert run.data_id["source"] == "random test images"
    assert run.sample_z(5).shape == (5, tiny_cfg.nz) and run.sample_labels(5) is None
    y = _run(tiny_cfg.replace(n_classes=10), tiny_data).sample_labels(200)
    assert y.shape == (200,) and y.min() >= 0 and y.max() <= 9


def test_data_identity_changes_with_the_images_labels_and_source(tiny_data):
    base = T.data_identity(tiny_data)
    assert T.data_identity(gl.data.ImageData(tiny_data.images.clone(), tiny_data.labels.clone(),
                                             tiny_data.source)) == base  # the same data in another object
    other = tiny_data.images.clone()
    other[0, 0, 0, 0] ^= 1  # one bit of the first (sampled) image
    assert T.data_identity(gl.data.ImageData(other, tiny_data.labels, tiny_data.source))["fingerprint"] != base["fingerprint"]
    relabelled = (tiny_data.labels + 1) % 10
    assert T.data_identity(gl.data.ImageData(tiny_data.images, relabelled, tiny_data.source))["fingerprint"] != base["fingerprint"]
    renamed = T.data_identity(gl.data.ImageData(tiny_data.images, tiny_data.labels, "other"))
    assert renamed["source"] == "other" and renamed["fingerprint"] == base["fingerprint"]


def test_blank_frame_and_image_snapshot(tiny_cfg, tiny_data):
    run = _run(tiny_cfg, tiny_data)
    blank = T.blank_frame(run)
    assert blank.shape == (1, 1, 3) and blank.dtype == np.uint8 and not blank.any()
    G_mode = run.G.training
    frame = T.image_snapshot(run)
    assert frame.dtype == np.uint8 and frame.shape == (2 + 2 * 34, 2 + 2 * 34, 1) and run.G.training == G_mode
    assert T.image_snapshot(run, nrow=4).shape == (2 + 34, 2 + 4 * 34, 1)
    runs = _fit(tiny_cfg.replace(max_steps=2), tiny_data, snapshot=T.blank_frame)
    assert runs.history.snapshot_steps == [0, 2] and all(f.shape == (1, 1, 3) for f in runs.history.snapshots)


# ---------------------------------------------------------------- the step: k D steps, then one G step
class Counting(gl.GANStep):
    """Records the order of its D and G steps and the epoch each D step ran in."""

    def __init__(self):
        self.calls, self.d_epochs = [], []

    def d_step(self, run, real, y, D=None, opt_d=None):
        self.calls.append("d")
        self.d_epochs.append(run.epoch)
        return super().d_step(run, real, y, D, opt_d)

    def g_step(self, run):
        self.calls.append("g")
        return super().g_step(run)


def test_k_discriminator_steps_then_one_generator_step(tiny_cfg, tiny_data):
    step = Counting()
    run = _fit(tiny_cfg.replace(k=3), tiny_data, step=step)
    batches = tiny_cfg.n_train // tiny_cfg.batch_size  # 6 batches: 2 G updates with 3 D steps each
    assert step.calls == ["d", "d", "d", "g"] * (batches // 3) and len(run.history) == batches // 3


def test_an_epoch_with_fewer_than_k_batches_left_ends_without_d_steps(tiny_cfg, tiny_data):
    """6 batches per epoch and k = 4: one G update (4 D steps) per epoch; the 2 batches left are not used."""
    step = Counting()
    run = _fit(tiny_cfg.replace(k=4, num_epochs=3), tiny_data, step=step)
    assert step.calls == ["d", "d", "d", "d", "g"] * 3
    assert [step.d_epochs.count(e) for e in range(3)] == [4, 4, 4]
    assert run.history.epoch == [0, 1, 2] and len(run.history) == 3


def test_step_statistics_are_the_mean_d_loss_and_the_last_d_step(tiny_cfg, tiny_data):
    class Recording(gl.GANStep):
        def __init__(self):
            self.d, self.g = [], []

        def d_step(self, run, real, y, D=None, opt_d=None):
            self.d.append(super().d_step(run, real, y, D, opt_d))
            return self.d[-1]

        def g_step(self, run):
            self.g.append(super().g_step(run))
            return self.g[-1]

    step = Recording()
    run = _fit(tiny_cfg.replace(k=2, max_steps=2), tiny_data, step=step)
    h = run.history
    for i in range(2):
        d = step.d[2 * i: 2 * i + 2]
        assert h.loss_d[i] == pytest.approx((float(d[0]["loss_d"]) + float(d[1]["loss_d"])) / 2, rel=1e-12)
        assert (h.d_x[i], h.d_g_z1[i]) == (float(d[1]["d_x"]), float(d[1]["d_g_z1"]))
        assert (h.loss_g[i], h.d_g_z2[i]) == (float(step.g[i]["loss_g"]), float(step.g[i]["d_g_z2"]))


def test_d_step_sends_no_gradient_into_g(tiny_cfg, tiny_data):
    run = _run(tiny_cfg.replace(loss="minimax"), tiny_data)
    G, D = run.G, run.D
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    before = [p.clone() for p in G.parameters()]
    d_before = [p.clone() for p in D.parameters()]
    stats = gl.GANStep().d_step(run, torch.rand(4, 1, 32, 32) * 2 - 1, None, opt_d=opt)
    assert set(stats) == {"loss_d", "d_x", "d_g_z1"}
    assert all(p.grad is None for p in G.parameters())
    for p, q in zip(before, G.parameters()):
        torch.testing.assert_close(p, q)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())
    assert any(not torch.equal(p, q) for p, q in zip(d_before, D.parameters()))  # opt_d stepped D


def test_d_step_on_another_d_leaves_the_runs_d_alone(tiny_cfg, tiny_data):
    run = _run(tiny_cfg, tiny_data)
    other = copy.deepcopy(run.D)
    opt = torch.optim.SGD(other.parameters(), lr=0.1)
    d_before = copy.deepcopy(run.D.state_dict())
    gl.GANStep().d_step(run, torch.rand(4, 1, 32, 32) * 2 - 1, None, D=other, opt_d=opt)
    for k, v in run.D.state_dict().items():
        assert torch.equal(v, d_before[k]), k
    assert any(not torch.equal(v, d_before[k]) for k, v in other.state_dict().items())


def test_g_step_changes_only_g(tiny_cfg, tiny_data):
    run = _run(tiny_cfg.replace(lr=1e-2), tiny_data)
    d_before = [p.clone() for p in run.D.parameters()]
    g_before = [p.clone() for p in run.G.parameters()]
    stats = gl.GANStep().g_step(run)
    assert set(stats) == {"loss_g", "d_g_z2"}
    for p, q in zip(d_before, run.D.parameters()):
        torch.testing.assert_close(p, q)
    assert any((p - q).abs().max() > 0 for p, q in zip(g_before, run.G.parameters()))


def test_d_loss_adds_the_gradient_penalty_for_wgan_gp(tiny_cfg, tiny_data):
    cfg = gl.preset("mlp-mnist", size="quick", image_size=28, ngf=4, ndf=4, loss="wgan-gp", batch_size=8)
    data = gl.data.ImageData(torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8), None, "x")
    run = _run(cfg, data)
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(8, 1, 28, 28, generator=g) * 2 - 1, torch.rand(8, 1, 28, 28, generator=g) * 2 - 1
    real_out, fake_out = run.D(real), run.D(fake)
    state = run.generator.get_state()
    got = gl.GANStep().d_loss(run, real, None, fake, None, real_out, fake_out, run.D)
    expect = (L.d_wasserstein(real_out, fake_out)
              + 10.0 * L.gradient_penalty(run.D, real, fake, None, torch.Generator().set_state(state)))
    assert got.item() == pytest.approx(expect.item(), rel=1e-6)
    plain = gl.GANStep().d_loss(_run(cfg.replace(loss="wgan"), data), real, None, fake, None, real_out, fake_out,
                                run.D)
    assert plain.item() == pytest.approx(L.d_wasserstein(real_out, fake_out).item(), rel=1e-6)


# ---------------------------------------------------------------- learning-rate decay
def test_lr_decay_falls_linearly_to_lr_times_decay_at_max_steps(tiny_cfg, tiny_data):
    cfg = tiny_cfg.replace(lr=1e-3, lr_decay=0.1, max_steps=5)
    seen = []

    class LRs(gl.GANStep):
        def __call__(self, run, batches):
            seen.append((run.step, run.opt_g.param_groups[0]["lr"], run.opt_d.param_groups[0]["lr"]))
            return super().__call__(run, batches)

    run = _fit(cfg, tiny_data, step=LRs())
    assert seen[0] == (0, 1e-3, 1e-3)  # the first step runs at the full lr
    for step, lr_g, lr_d in seen:
        assert lr_g == lr_d == pytest.approx(1e-3 * (1 - 0.9 * step / 5), rel=1e-12)
    for opt in (run.opt_g, run.opt_d):  # after the last step: lr * lr_decay
        assert [g["lr"] for g in opt.param_groups] == [pytest.approx(1e-4, rel=1e-12)]
    constant = _fit(tiny_cfg.replace(lr=1e-3, max_steps=5), tiny_data)
    assert constant.opt_g.param_groups[0]["lr"] == constant.opt_d.param_groups[0]["lr"] == 1e-3


# ---------------------------------------------------------------- divergence
class Scaled(gl.GANStep):
    """D's loss times ``factor`` from G update ``start`` on (a step that diverges on purpose)."""

    def __init__(self, factor, start=0):
        self.factor, self.start = factor, start

    def d_loss(self, run, *args):
        loss = super().d_loss(run, *args)
        return self.factor * loss if run.step >= self.start else loss


def test_a_nan_stops_training_with_advice(tiny_cfg, tiny_data):
    class Broken(gl.GANStep):
        def d_step(self, run, real, y, D=None, opt_d=None):
            stats = super().d_step(run, real, y, D, opt_d)
            return {**stats, "loss_d": stats["loss_d"] * float("nan")}

    with pytest.raises(FloatingPointError, match=r"loss_d became nan at G update 1 \(epoch 0\).*Lower the learning rate"):
        _fit(tiny_cfg, tiny_data, step=Broken())


def test_a_loss_beyond_the_limit_stops_training_and_says_nothing_was_saved(tiny_cfg, tiny_data):
    with pytest.raises(FloatingPointError) as err:
        _fit(tiny_cfg, tiny_data, step=Scaled(1e7))  # Loss_D ~ 1.4e7 > LOSS_LIMIT = 1e6
    message = str(err.value)
    assert re.search(r"loss_d became 1\.\d+e\+07 at G update 1 \(epoch 0\): training diverged", message)
    assert "No checkpoint of this run was written." in message and "Nothing diverged was saved." in message
    # the good path: a large but healthy loss (below the limit) trains on
    run = _fit(tiny_cfg.replace(max_steps=3), tiny_data, step=Scaled(1e3))
    assert run.step == 3 and 1e2 < run.history.loss_d[0] < T.LOSS_LIMIT


def test_a_huge_learning_rate_diverges_at_once(tiny_cfg, tiny_data):
    with pytest.raises(FloatingPointError, match=r"became .* at G update 1 \(epoch 0\): training diverged"):
        _fit(tiny_cfg.replace(lr=1e6), tiny_data)


def test_divergence_names_the_last_good_checkpoint_whose_weights_are_finite(tiny_cfg, tiny_data, tmp_path):
    path = tmp_path / "r.pt"
    with pytest.raises(FloatingPointError) as err:
        _fit(tiny_cfg, tiny_data, step=Scaled(1e7, start=3), checkpoint=path, checkpoint_every=2)
    message = str(err.value)
    assert f"at G update 4 (epoch 0)" in message
    assert f"The last good checkpoint is {path} (G update 2)." in message and "No checkpoint" not in message
    blob = C.read(path)
    assert blob["step"] == 2
    for net in ("G", "D"):
        assert all(torch.isfinite(v).all() for v in blob[net].values() if v.is_floating_point())
    assert all(math.isfinite(v) for v in blob["history"]["loss_d"])


def test_non_finite_weights_are_never_saved(tiny_cfg, tiny_data, tmp_path):
    class Poison(gl.GANStep):
        def g_step(self, run):
            stats = super().g_step(run)
            if run.step == 3:  # the 4th G update leaves a NaN in G (its statistics are finite) and is saved
                with torch.no_grad():
                    next(run.G.parameters()).view(-1)[0] = float("nan")
            return stats

    path = tmp_path / "r.pt"
    with pytest.raises(FloatingPointError, match=r"the weights became non-finite at G update 4 .*last good checkpoint "
                                                 r"is .* \(G update 2\)\. Nothing diverged was saved"):
        _fit(tiny_cfg, tiny_data, step=Poison(), checkpoint=path, checkpoint_every=2)
    blob = C.read(path)
    assert blob["step"] == 2 and all(torch.isfinite(v).all() for v in blob["G"].values() if v.is_floating_point())


# ---------------------------------------------------------------- interrupts
def test_ctrl_c_lets_the_step_finish_saves_then_raises(tiny_cfg, tiny_data, tmp_path, capsys):
    import os
    import signal

    def press_ctrl_c(run):
        if run.step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # only raises a flag: the loop stops before the next step

    path = tmp_path / "r.pt"
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match=r"training interrupted after 3 G updates; saved to "):
        _fit(tiny_cfg, tiny_data, checkpoint=path, callbacks={"on_step_end": press_ctrl_c})
    assert signal.getsignal(signal.SIGINT) is handler  # fit put the previous handler back
    assert C.read(path)["step"] == 3
    assert "Interrupted after 3 G updates; saved to" in capsys.readouterr().out


def test_an_interrupt_inside_a_step_keeps_the_last_saved_state(tiny_cfg, tiny_data, tmp_path):
    class Interrupted(gl.GANStep):
        def g_step(self, run):
            if run.step == 3:
                raise KeyboardInterrupt  # e.g. a second Ctrl-C, in the middle of the 4th G update
            return super().g_step(run)

    path = tmp_path / "r.pt"
    with pytest.raises(KeyboardInterrupt, match=r"after 3 G updates; the checkpoint .* keeps G update 2 \(the "
                                                r"interrupted step was not finished, so it was not saved\)"):
        _fit(tiny_cfg, tiny_data, step=Interrupted(), checkpoint=path, checkpoint_every=2)
    assert C.read(path)["step"] == 2
    with pytest.raises(KeyboardInterrupt, match=r"after 3 G updates; nothing was saved"):
        _fit(tiny_cfg, tiny_data, step=Interrupted())


# ---------------------------------------------------------------- the conditional loss terms, switched by the Config
def _cgan(**fields):
    return gl.preset("cgan-mnist", size="quick", n_train=32, batch_size=8, **fields)


def _digits(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return gl.data.ImageData(torch.randint(0, 256, (n, 1, 32, 32), generator=g, dtype=torch.uint8),
                             torch.arange(n) % 10, "random labelled digits")


def test_matching_d_loss_by_hand_through_fit():
    """With cfg.matching_d, D's loss is -log D(x|y) - 1/2 log(1 - D(G(z)|y')) - 1/2 log(1 - D(x|wrong))."""
    seen = []

    class Check(gl.GANStep):
        def d_loss(self, run, real, y, fake, y_fake, real_out, fake_out, D):
            wrong_gen = torch.Generator().set_state(run.generator.get_state())  # the wrong labels d_loss draws
            got = super().d_loss(run, real, y, fake, y_fake, real_out, fake_out, D)
            with torch.no_grad():
                wrong = (y + torch.randint(1, 10, y.shape, generator=wrong_gen)) % 10
                assert (wrong != y).all()
                m = D(real, wrong)
                bce = F.binary_cross_entropy_with_logits
                if run.cfg.matching_d:
                    expect = bce(real_out, torch.ones(8)) + 0.5 * bce(fake_out, torch.zeros(8)) + 0.5 * bce(m, torch.zeros(8))
                else:
                    expect = bce(real_out, torch.ones(8)) + bce(fake_out, torch.zeros(8))
            seen.append((run.cfg.matching_d, got.item(), expect.item()))
            return got

    for matching in (True, False):
        cfg = _cgan(matching_d=matching, mode_seeking=0.0, max_steps=3)
        run = _fit(cfg, _digits(), step=Check())
        assert run.step == 3
    assert [s[0] for s in seen] == [True] * 3 + [False] * 3
    for _, got, expect in seen:
        assert got == pytest.approx(expect, rel=1e-5)


def test_matching_d_step_updates_d_only():
    run = _run(_cgan(matching_d=True), _digits())
    g_before = [p.clone() for p in run.G.parameters()]
    d_before = [p.clone() for p in run.D.parameters()]
    x, y = _digits().get(torch.arange(8))
    stats = gl.GANStep().d_step(run, x, y)
    assert math.isfinite(stats["loss_d"]) and 0 < stats["d_x"] < 1
    assert all(torch.equal(a, b) for a, b in zip(g_before, run.G.parameters()))      # G untouched
    assert any(not torch.equal(a, b) for a, b in zip(d_before, run.D.parameters()))  # D stepped


def test_mode_seeking_g_step_matches_an_independent_gradient():
    cfg = _cgan(matching_d=False, mode_seeking=0.7)
    run = _run(cfg, _digits())
    lr, weight = 0.05, 0.7
    run.opt_g = torch.optim.SGD(run.G.parameters(), lr=lr)
    G2, D2 = copy.deepcopy(run.G), copy.deepcopy(run.D)
    replay = torch.Generator().set_state(run.generator.get_state())
    stats = gl.GANStep().g_step(run)
    # by hand: the same z and labels; pairs (i, i+4) share a label; loss = -log D(G(z|y)|y) + weight / (ms + eps)
    z = torch.randn(8, cfg.nz, generator=replay)
    y_fake = torch.randint(10, (8,), generator=replay)
    y = torch.cat([y_fake[:4], y_fake[:4]])
    x = G2(z, y)
    adv = F.binary_cross_entropy_with_logits(D2(x, y), torch.ones(8))
    ms = (x[:4] - x[4:]).abs().mean() / (z[:4] - z[4:]).abs().mean()
    (adv + weight / (ms + 1e-5)).backward()
    assert stats["loss_g"] == pytest.approx(adv.item(), rel=1e-5)  # the adversarial part is what is logged
    for after, p in zip(run.G.parameters(), G2.parameters()):
        torch.testing.assert_close(after, p - lr * p.grad, rtol=1e-4, atol=1e-6)


def test_mode_seeking_term_is_added_to_g_loss_through_fit_only_when_switched_on():
    seen = []

    class Check(gl.GANStep):
        def g_loss(self, run, z, fake, adversarial):
            got = super().g_loss(run, z, fake, adversarial)
            ms = (fake[:4] - fake[4:]).abs().mean() / (z[:4] - z[4:]).abs().mean()
            extra = run.cfg.mode_seeking / (ms + 1e-5) if run.cfg.mode_seeking else 0.0
            seen.append((run.cfg.mode_seeking, got.item(), (adversarial + extra).item()))
            return got

    for weight in (1.5, 0.0):
        _fit(_cgan(matching_d=False, mode_seeking=weight, max_steps=2), _digits(), step=Check())
    assert [s[0] for s in seen] == [1.5, 1.5, 0.0, 0.0]
    for _, got, expect in seen:
        assert got == pytest.approx(expect, rel=1e-6)
    assert seen[0][1] > 1.0  # the term is there (G's adversarial loss alone is about ln 2)


def _step_recording_g(cfg, data):
    """One GANStep on a fresh run; returns (run, stats, [(z, fake) for every forward of G])."""
    run = _run(cfg, data)
    calls = []
    hook = run.G.register_forward_hook(lambda m, args, out: calls.append((args[0].detach(), out.detach())))
    real, _ = data.get(torch.arange(cfg.batch_size))
    stats = gl.GANStep()(run, [(real, None)])
    hook.remove()
    return run, stats, calls


def test_reuse_fakes_runs_g_once_and_scores_the_d_steps_fakes_with_the_updated_d(tiny_cfg, tiny_data):
    cfg = tiny_cfg.replace(loss="minimax", k=1)
    # Algorithm 1: G runs twice per step, on two draws of noise; G's step scores the second draw.
    run, stats, calls = _step_recording_g(cfg, tiny_data)
    assert len(calls) == 2 and not torch.equal(calls[0][0], calls[1][0])
    with torch.no_grad():
        assert abs(run.loss.stat(run.D(calls[1][1])) - stats["d_g_z2"]) < 1e-5
        assert abs(run.loss.stat(run.D(calls[0][1])) - stats["d_g_z2"]) > 1e-4
    # The tutorial's shortcut: G runs once; G's step scores the D step's own fakes, with D after its update.
    run, stats, calls = _step_recording_g(cfg.replace(reuse_fakes=True), tiny_data)
    assert len(calls) == 1
    with torch.no_grad():
        assert abs(run.loss.stat(run.D(calls[0][1])) - stats["d_g_z2"]) < 1e-5


def test_reuse_fakes_needs_one_d_step_and_no_mode_seeking(tiny_cfg):
    with pytest.raises(ValueError, match="reuse_fakes=True needs k=1"):
        tiny_cfg.replace(k=2, reuse_fakes=True)
    with pytest.raises(ValueError, match="mode_seeking=0"):
        tiny_cfg.replace(mode_seeking=1.0, reuse_fakes=True)
