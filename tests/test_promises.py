"""What ganlib promises about a training run (README, "What ganlib promises"): an interrupt, a kill or a
resume never changes the result; nothing half-done is saved.

Each test trains a tiny DCGAN on random images, once straight through and once interrupted, and compares
the two runs bit for bit (statistics, snapshots, weights, optimiser state).
"""
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import ganlib as gl
from ganlib import checkpoint as C
from ganlib import models as M


def _fit(cfg, data, path=None, **kw):
    G, D = M.build(cfg)
    return gl.fit(G, D, data, cfg, checkpoint=None if path is None else str(path), progress=False, **kw)


def _same_run(a, b):
    for name in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "epoch"):
        assert getattr(a.history, name) == getattr(b.history, name), name
    assert a.history.snapshot_steps == b.history.snapshot_steps
    for x, y in zip(a.history.snapshots, b.history.snapshots):
        assert (x == y).all()
    for x, y in zip(list(a.G.state_dict().values()) + list(a.D.state_dict().values()),
                    list(b.G.state_dict().values()) + list(b.D.state_dict().values())):
        assert torch.equal(x, y)
    for x, y in zip(a.opt_d.state_dict()["state"].values(), b.opt_d.state_dict()["state"].values()):
        assert torch.equal(x["exp_avg_sq"], y["exp_avg_sq"])


def _ctrl_c_at_call(net, n, only_with_grad=False):
    """A forward pre-hook that presses Ctrl-C (sends SIGINT to this process) at the n-th counted call of
    ``net``: with ``only_with_grad``, only calls made with gradients on count (G's own step, not the D step's
    fakes or the snapshots)."""
    calls = {"n": 0}

    def hook(module, inputs):
        if only_with_grad and not torch.is_grad_enabled():
            return
        calls["n"] += 1
        if calls["n"] == n:
            signal.raise_signal(signal.SIGINT)

    return net.register_forward_pre_hook(hook)


@pytest.mark.parametrize("where", ["D step", "G step"])
def test_ctrl_c_inside_a_step_finishes_the_step_then_saves_and_resume_equals_uninterrupted(
        tiny_cfg, tiny_data, tmp_path, where):
    cfg = tiny_cfg.replace(num_epochs=2, k=2)  # 3 G updates per epoch, each with 2 D steps
    straight = _fit(cfg, tiny_data)
    G, D = M.build(cfg)
    # the 4th real-batch forward of D is the 2nd D step of G update 2; G's 2nd forward with grad is update 2's G step
    handle = _ctrl_c_at_call(D, 8) if where == "D step" else _ctrl_c_at_call(G, 2, only_with_grad=True)
    with pytest.raises(KeyboardInterrupt, match="interrupted after 2 G updates"):
        gl.fit(G, D, tiny_data, cfg, checkpoint=str(tmp_path / "r.pt"), progress=False)
    handle.remove()
    assert C.read(tmp_path / "r.pt")["step"] == 2  # the interrupted step was finished, then saved
    resumed = _fit(cfg, tiny_data, tmp_path / "r.pt")
    assert resumed.step == straight.step == 6
    _same_run(straight, resumed)


def test_ctrl_c_restores_the_previous_handler(tiny_cfg, tiny_data):
    before = signal.getsignal(signal.SIGINT)
    _fit(tiny_cfg.replace(max_steps=2), tiny_data)
    assert signal.getsignal(signal.SIGINT) is before


def test_an_exception_inside_a_step_never_saves_the_half_done_step(tiny_cfg, tiny_data, tmp_path):
    """A KeyboardInterrupt raised directly (a second Ctrl-C, or code) in the middle of a step: the file keeps
    the last whole step; resuming from it equals the uninterrupted run."""
    cfg = tiny_cfg.replace(num_epochs=2)
    straight = _fit(cfg, tiny_data)
    G, D = M.build(cfg)
    calls = {"n": 0}

    def hook(module, inputs):
        calls["n"] += 1
        if calls["n"] == 13:  # inside G update 5's D step (3 D calls per update), after its batch was taken
            raise KeyboardInterrupt

    handle = D.register_forward_pre_hook(hook)
    with pytest.raises(KeyboardInterrupt, match="was not finished, so it was not saved"):
        gl.fit(G, D, tiny_data, cfg, checkpoint=str(tmp_path / "r.pt"), progress=False, checkpoint_every=2)
    handle.remove()
    assert C.read(tmp_path / "r.pt")["step"] == 4  # the last whole step saved by checkpoint_every
    _same_run(straight, _fit(cfg, tiny_data, tmp_path / "r.pt"))


KILLED_RUN = textwrap.dedent("""
    import sys, torch, ganlib as gl
    cfg = gl.preset("dcgan-mnist", size="quick", n_train=96, batch_size=16, ngf=4, ndf=4, n_fixed=4,
                    snapshot_every=2, log_every=1000, num_epochs=int(sys.argv[2]))
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (96, 1, 32, 32), generator=g, dtype=torch.uint8)
    data = gl.data.ImageData(images, torch.randint(0, 10, (96,), generator=g), "random test images")
    G, D = gl.models.build(cfg)
    run = gl.fit(G, D, data, cfg, checkpoint=sys.argv[1], progress=False, checkpoint_every=1)
    print("finished", run.step)
""")


def test_a_run_killed_with_sigkill_during_checkpoint_writes_resumes_to_the_same_result(tiny_cfg, tiny_data, tmp_path):
    """SIGKILL at three moments of a run that writes its checkpoint after every step: the file always loads
    and the resumed run equals the uninterrupted one."""
    cfg = tiny_cfg.replace(num_epochs=4)  # 24 G updates
    straight = _fit(cfg, tiny_data)
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)
    killed_at = []
    for i, target in enumerate((3, 9, 17)):  # kill once the checkpoint has reached this G update
        path = tmp_path / f"k{i}.pt"
        proc = subprocess.Popen([sys.executable, str(script), str(path), "4"], stdout=subprocess.PIPE)
        t0 = time.time()
        while time.time() - t0 < 120 and proc.poll() is None:
            if path.exists() and C.read(path)["step"] >= target:  # a reader never sees a half-written file
                break
            time.sleep(0.005)
        proc.kill()
        proc.wait()
        step = C.read(path)["step"]  # loads: never a half-written file
        killed_at.append(step)
        _same_run(straight, _fit(cfg, tiny_data, path))
    assert any(s < 24 for s in killed_at), f"no kill landed before the end of training: {killed_at}"


def test_a_second_writer_of_one_path_never_renames_a_half_written_file(tmp_path):
    """Two writers of one checkpoint path in one process: temporary names are unique, so each renames only
    its own complete file."""
    path = tmp_path / "same.pt"
    big = {"x": torch.arange(200_000)}
    small = {"x": torch.arange(10)}
    original = torch.save

    def interleaved(obj, f, *args, **kwargs):
        if obj is big:  # while the big file is being written, the small one is written to the same path
            torch.save = original
            C.save(path, {"config": {}, "writer": small})
        return original(obj, f, *args, **kwargs)

    torch.save = interleaved
    try:
        gl.util.atomic_save(big, path)
    finally:
        torch.save = original
    assert torch.equal(torch.load(path, weights_only=True)["x"], big["x"])  # the last rename won, whole
    assert [p.name for p in tmp_path.iterdir()] == ["same.pt"]
