"""ganlib.util: eval_mode (modes restored, no gradients) and the atomic writes (no half-written file, no
temporary file left, stale ones of killed writers cleaned up, concurrent writers each rename a whole file)."""
import os
import threading
import time

import pytest
import torch
from torch import nn

from ganlib import util


# ---------------------------------------------------------------- eval_mode
def _nets():
    G = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    D = nn.Sequential(nn.Linear(4, 1))
    G.train()
    D.eval()
    return G, D


def test_eval_mode_turns_grad_off_and_restores_each_nets_mode():
    G, D = _nets()
    assert torch.is_grad_enabled()
    with util.eval_mode(G, D):
        assert not G.training and not D.training
        assert all(not m.training for m in G.modules())  # children too (BatchNorm, Dropout)
        assert not torch.is_grad_enabled()
        out = G(torch.randn(3, 2))
        assert not out.requires_grad
        torch.testing.assert_close(G(torch.ones(3, 2)), G(torch.ones(3, 2)))  # dropout off: repeatable
    assert G.training and all(m.training for m in G.modules())
    assert not D.training  # it was in eval mode before: it stays there
    assert torch.is_grad_enabled()
    assert G(torch.randn(3, 2)).requires_grad


def test_eval_mode_restores_after_an_exception_inside_the_block():
    G, D = _nets()
    with pytest.raises(RuntimeError, match="inside"):
        with util.eval_mode(G, D):
            assert not G.training
            raise RuntimeError("inside")
    assert G.training and not D.training and torch.is_grad_enabled()


def test_eval_mode_keeps_batchnorm_statistics_unchanged():
    G, _ = _nets()
    before = G[1].running_mean.clone()
    with util.eval_mode(G):
        G(torch.randn(8, 2) + 5)
    assert torch.equal(G[1].running_mean, before)
    G(torch.randn(8, 2) + 5)  # the good path: in train mode the statistics do move
    assert not torch.equal(G[1].running_mean, before)


def test_eval_mode_nests_and_takes_no_nets():
    G, _ = _nets()
    with util.eval_mode(G):
        with util.eval_mode(G):
            assert not G.training
        assert not G.training  # the inner block restores what it found: eval
    assert G.training
    with util.eval_mode():
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()


# ---------------------------------------------------------------- atomic writes
def _temps(folder, name):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(util.temp_prefix(folder / name)))


def test_atomic_save_writes_a_file_torch_load_reads_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "deeper" / "state.pt"  # the folder is made
    obj = {"w": torch.arange(6.0).view(2, 3), "step": 7, "name": "run"}
    util.atomic_save(obj, path)
    back = torch.load(path, weights_only=True)
    assert torch.equal(back["w"], obj["w"]) and back["step"] == 7 and back["name"] == "run"
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.pt"]
    util.atomic_save({"step": 8}, path)  # replaces the old file
    assert torch.load(path, weights_only=True) == {"step": 8}
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.pt"]


def test_atomic_write_writes_bytes(tmp_path):
    path = tmp_path / "notes.bin"
    util.atomic_write(path, lambda f: f.write(b"hello"))
    assert path.read_bytes() == b"hello" and _temps(tmp_path, "notes.bin") == []


def test_stale_temp_files_of_killed_writers_are_removed_and_fresh_ones_stay(tmp_path):
    path = tmp_path / "state.pt"
    prefix = util.temp_prefix(path)
    assert prefix.startswith(".") and "state.pt" in prefix  # hidden, named after the file it is for
    stale, fresh = tmp_path / f"{prefix}killed", tmp_path / f"{prefix}writing"
    other = tmp_path / f"{util.temp_prefix(tmp_path / 'other.pt')}old"  # another file's temp: not ours to touch
    for p in (stale, fresh, other):
        p.write_bytes(b"half a checkpoint")
    old = time.time() - util.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    util.atomic_save({"step": 1}, path)
    assert not stale.exists()
    assert fresh.exists() and other.exists()  # a writer may still be busy with a fresh one
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert util.remove_stale_temps(path) == 0  # nothing stale left
    os.utime(fresh, (old, old))
    assert util.remove_stale_temps(path) == 1 and not fresh.exists()
    assert util.remove_stale_temps(tmp_path / "no-such-folder" / "x.pt") == 0


def test_two_writers_of_one_path_both_finish_and_the_file_is_one_whole_object(tmp_path):
    path = tmp_path / "state.pt"
    a, b = torch.zeros(300_000), torch.ones(300_000)  # big enough that the writes overlap
    errors = []

    def writer(obj):
        try:
            for _ in range(5):
                util.atomic_save({"w": obj}, path)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    back = torch.load(path, weights_only=True)["w"]
    assert torch.equal(back, a) or torch.equal(back, b)  # one of the two, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "state.pt"
    util.atomic_save({"step": 1}, path)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 the first bytes of a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space left on device"):
        util.atomic_save({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 1}  # the old file, intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]
    with pytest.raises(KeyboardInterrupt):  # an interrupt mid-write: the same
        util.atomic_write(path, lambda f: (f.write(b"half"), (_ for _ in ()).throw(KeyboardInterrupt()))[1])
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]
