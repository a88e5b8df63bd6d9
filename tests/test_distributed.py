"""fit under torchrun: two processes on the CPU (gloo), tiny sizes.

The script below trains the fully connected GAN (no BatchNorm) on 64 random 28 px images, with a checkpoint,
and rank 0 also saves the final gradients. Compared with one process on the same global batch, the two
processes must give the same gradients (to float tolerance: DDP averages the ranks' gradients) and so the
same weights; a run killed and resumed must finish with the weights of an uninterrupted one.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from ganlib import checkpoint as C

SCRIPT = textwrap.dedent("""
    import sys, torch, ganlib as gl
    path, steps, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cfg = gl.preset("variants-mnist", size="quick", n_train=64, batch_size=16, max_steps=steps, num_epochs=100,
                    snapshot_every=2, n_fixed=4)
    g = torch.Generator().manual_seed(0)
    data = gl.data.ImageData(torch.randint(0, 256, (64, 1, 28, 28), generator=g, dtype=torch.uint8), None, "random")
    G, D = gl.models.build(cfg)
    run = gl.fit(G, D, data, cfg, checkpoint=path, progress=False, checkpoint_every=every)
    if run.rank == 0:
        grads = {f"{net}.{name}": p.grad.clone() for net, m in (("G", run.G), ("D", run.D))
                 for name, p in gl.distributed.unwrap(m).named_parameters()}
        torch.save({"grads": grads, "world": run.world, "snapshots": len(run.history.snapshots)}, path + ".grads")
""")


def launch(tmp_path, path, steps, every=1, nproc=2, wait=True):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if nproc == 1:
        cmd = [sys.executable, str(script), str(path), str(steps), str(every)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               str(script), str(path), str(steps), str(every)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    if not wait:
        return proc
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out.decode()[-3000:]
    return proc


def kill_tree(pid):
    """SIGKILL a process and every process below it."""
    import psutil

    parent = psutil.Process(pid)
    for p in parent.children(recursive=True) + [parent]:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


def weights(path):
    blob = C.read(path)
    return {**{f"G.{k}": v for k, v in blob["G"].items()}, **{f"D.{k}": v for k, v in blob["D"].items()}}


def test_two_processes_complete_and_rank_0_writes_the_checkpoint(tmp_path):
    launch(tmp_path, tmp_path / "two.pt", steps=3)
    blob = C.read(tmp_path / "two.pt")
    assert blob["step"] == 3 and len(blob["history"]["loss_d"]) == 3
    assert torch.load(str(tmp_path / "two.pt") + ".grads", weights_only=True)["world"] == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".two.pt.tmp")] == []


def test_averaged_gradients_equal_one_process_on_the_whole_batch(tmp_path):
    launch(tmp_path, tmp_path / "one.pt", steps=1, nproc=1)
    launch(tmp_path, tmp_path / "two.pt", steps=1)
    one = torch.load(str(tmp_path / "one.pt") + ".grads", weights_only=True)
    two = torch.load(str(tmp_path / "two.pt") + ".grads", weights_only=True)
    assert (one["world"], two["world"]) == (1, 2) and one["grads"].keys() == two["grads"].keys()
    for name, g in one["grads"].items():
        torch.testing.assert_close(two["grads"][name], g, rtol=1e-4, atol=1e-6, msg=name)
    assert any(g.abs().max() > 0 for g in one["grads"].values())
    # and a rank's own share alone would NOT give the same gradient: the averaging is what makes them equal
    wa, wb = weights(tmp_path / "one.pt"), weights(tmp_path / "two.pt")
    for name in wa:
        torch.testing.assert_close(wb[name], wa[name], rtol=1e-4, atol=1e-6, msg=name)


def test_a_killed_two_process_run_resumes_to_the_same_result(tmp_path):
    launch(tmp_path, tmp_path / "straight.pt", steps=12)
    path = tmp_path / "killed.pt"
    proc = launch(tmp_path, path, steps=12, wait=False)
    t0 = time.time()
    while time.time() - t0 < 240 and proc.poll() is None:
        if path.exists() and C.read(path)["step"] >= 4:
            break
        time.sleep(0.01)
    kill_tree(proc.pid)  # torchrun and both workers (they run in sessions of their own)
    proc.wait()
    killed_at = C.read(path)["step"]
    assert killed_at < 12, "the run finished before it could be killed"
    launch(tmp_path, path, steps=12)  # resumes from rank 0's checkpoint
    a, b = weights(tmp_path / "straight.pt"), weights(path)
    assert C.read(path)["step"] == 12
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert C.read(path)["history"]["loss_d"] == C.read(tmp_path / "straight.pt")["history"]["loss_d"]


def test_a_batch_that_does_not_split_evenly_is_refused():
    from ganlib import distributed

    assert distributed.share(16, 1, 2) == slice(8, 16)
    with pytest.raises(ValueError, match="batch_size=15 does not split into 2 equal shares"):
        distributed.share(15, 0, 2)
