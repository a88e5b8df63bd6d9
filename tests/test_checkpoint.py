"""ganlib.checkpoint and resuming through fit: a resumed run equals a straight one; where runs go
($GANLIB_RUNS); what is refused before any work (bad paths, other configurations, other data,
generator-only files) and with which words."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import ganlib as gl
from ganlib import checkpoint as C
from ganlib import models as M

CPU = torch.device("cpu")


class Stop(KeyboardInterrupt):
    pass


def _fit(cfg, data, path, **kw):
    G, D = M.build(cfg)
    return gl.fit(G, D, data, cfg, checkpoint=None if path is None else str(path), progress=False, device=CPU, **kw)


def _same_run(a, b):
    for name in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "epoch"):
        assert getattr(a.history, name) == getattr(b.history, name), name
    assert a.history.snapshot_steps == b.history.snapshot_steps
    for x, y in zip(a.history.snapshots, b.history.snapshots):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.G.state_dict().values(), b.G.state_dict().values()):
        torch.testing.assert_close(x, y)
    for x, y in zip(a.opt_d.state_dict()["state"].values(), b.opt_d.state_dict()["state"].values()):
        torch.testing.assert_close(x["exp_avg"], y["exp_avg"])


def _counter():
    """A callback counting the steps fit takes, and its count."""
    steps = []
    return {"on_step_end": lambda run: steps.append(run.step)}, steps


# ---------------------------------------------------------------- resuming gives the same run
def test_resume_after_an_interruption_equals_an_uninterrupted_run(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg.replace(num_epochs=2)  # 12 G updates; stop in the middle of the first epoch
    straight = _fit(cfg, tiny_data, tmp_path / "straight.pt")

    def stop_at_4(run):
        if run.step == 4:
            raise Stop()

    with pytest.raises(KeyboardInterrupt):
        _fit(cfg, tiny_data, tmp_path / "resumed.pt", callbacks={"on_step_end": stop_at_4})
    assert C.read(tmp_path / "resumed.pt")["step"] == 4
    resumed = _fit(cfg, tiny_data, tmp_path / "resumed.pt")
    assert resumed.step == straight.step == 12
    _same_run(straight, resumed)


def test_a_longer_budget_continues_the_run(tiny_cfg, tiny_data, tmp_path):
    straight = _fit(tiny_cfg.replace(num_epochs=2), tiny_data, tmp_path / "a.pt")
    _fit(tiny_cfg.replace(num_epochs=1), tiny_data, tmp_path / "b.pt")
    longer = _fit(tiny_cfg.replace(num_epochs=2), tiny_data, tmp_path / "b.pt")
    _same_run(straight, longer)


def test_resuming_with_another_configuration_is_refused_by_name(tiny_cfg, tiny_data, tmp_path):
    _fit(tiny_cfg.replace(max_steps=2), tiny_data, tmp_path / "r.pt")
    with pytest.raises(ValueError, match=r"lr: the checkpoint has 0.0002, this run asks for 0.001"):
        _fit(tiny_cfg.replace(max_steps=2, lr=1e-3), tiny_data, tmp_path / "r.pt")


def test_checkpoints_are_written_atomically_and_read_safely(tiny_cfg, tiny_data, tmp_path):
    path = tmp_path / "runs" / "r.pt"
    _fit(tiny_cfg.replace(max_steps=3), tiny_data, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.pt"]  # no temporary file left behind
    blob = torch.load(path, weights_only=True)  # no pickled code needed
    assert blob["step"] == 3 and blob["config"]["ngf"] == tiny_cfg.ngf
    assert blob["format"] == C.FORMAT == 2 and blob["kind"] == "run"
    assert blob["data"] == gl.train.data_identity(tiny_data)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Delete it"):
        C.read(path)


def test_a_file_of_another_format_is_refused_with_what_to_do(tmp_path):
    old = tmp_path / "old.pt"
    torch.save({"format": 1, "kind": "run"}, old)
    with pytest.raises(ValueError, match=r"is not a ganlib checkpoint of format 2 \(found 1\)\. Delete it"):
        C.read(old)
    torch.save([1, 2, 3], old)
    with pytest.raises(ValueError, match=r"format 2 \(found 'list'\)"):
        C.read(old)
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        C.read(tmp_path / "missing.pt")


def test_save_and_load_generator(tiny_cfg, tmp_path):
    G, _ = M.build(tiny_cfg)
    C.save_generator(tmp_path / "g.pt", G, tiny_cfg)
    fresh, _ = M.build(tiny_cfg.replace(seed=5))
    z = torch.randn(3, tiny_cfg.nz)
    G.eval(), fresh.eval()
    assert not torch.allclose(G(z), fresh(z))
    C.load_generator(tmp_path / "g.pt", fresh, tiny_cfg)
    torch.testing.assert_close(G(z), fresh(z))
    with pytest.raises(ValueError, match="ngf"):
        C.load_generator(tmp_path / "g.pt", fresh, tiny_cfg.replace(ngf=8))
    wider, _ = M.build(tiny_cfg.replace(ngf=8))
    with pytest.raises(ValueError, match="holds the weights of another generator than this G"):
        C.load_generator(tmp_path / "g.pt", wider)


def test_load_generator_reads_a_runs_checkpoint(tiny_cfg, tiny_data, tmp_path):
    run = _fit(tiny_cfg.replace(max_steps=2), tiny_data, tmp_path / "r.pt")
    fresh, _ = M.build(tiny_cfg)
    C.load_generator(tmp_path / "r.pt", fresh, tiny_cfg.replace(max_steps=2))
    for a, b in zip(run.G.state_dict().values(), fresh.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_rng_state_round_trips_every_generator():
    g = gl.seed_everything(3)
    state = C.rng_state(g)
    first = (torch.randn(3), torch.randn(3, generator=g), np.random.rand(3), __import__("random").random())
    g2 = torch.Generator()
    C.set_rng_state(state, g2)
    again = (torch.randn(3), torch.randn(3, generator=g2), np.random.rand(3), __import__("random").random())
    torch.testing.assert_close(first[0], again[0])
    torch.testing.assert_close(first[1], again[1])
    np.testing.assert_array_equal(first[2], again[2])
    assert first[3] == again[3]


# ---------------------------------------------------------------- where runs go
def test_run_path_follows_ganlib_runs(tiny_cfg, monkeypatch, tmp_path):
    monkeypatch.delenv("GANLIB_RUNS", raising=False)
    assert C.run_path(tiny_cfg) == Path("runs") / "dcgan-mnist-quick.pt"
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path / "drive"))
    assert C.runs_dir() == tmp_path / "drive"
    assert C.run_path(tiny_cfg) == tmp_path / "drive" / "dcgan-mnist-quick.pt"
    assert C.run_path(tiny_cfg, tag="smooth") == tmp_path / "drive" / "dcgan-mnist-smooth-quick.pt"
    assert C.run_path(tiny_cfg.replace(name="challenges-ring/pacgan")).name == "challenges-ring-pacgan-quick.pt"


def test_resuming_from_the_ganlib_runs_folder_equals_a_straight_run(tiny_cfg, tiny_data, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path / "drive"))
    path = C.run_path(tiny_cfg)
    _fit(tiny_cfg.replace(max_steps=4), tiny_data, path)  # 4: a snapshot step, so both runs snapshot alike
    assert path.is_file() and path.parent == tmp_path / "drive"
    assert C.read(path)["step"] == 4
    capsys.readouterr()
    resumed = _fit(tiny_cfg.replace(max_steps=6), tiny_data, C.run_path(tiny_cfg))
    assert f"Resuming {path}: 4 G updates done" in capsys.readouterr().out
    assert resumed.step == 6 and C.read(path)["step"] == 6
    straight = _fit(tiny_cfg.replace(max_steps=6), tiny_data, None)
    _same_run(straight, resumed)


# ---------------------------------------------------------------- refused before any work
def test_a_generator_only_file_is_not_a_run_checkpoint(tiny_cfg, tiny_data, tmp_path):
    path = tmp_path / "g.pt"
    G, _ = M.build(tiny_cfg)
    C.save_generator(path, G, tiny_cfg)
    callbacks, steps = _counter()
    with pytest.raises(ValueError, match=r"holds only a generator .*gl\.checkpoint\.load_generator\(path, G\)"):
        _fit(tiny_cfg, tiny_data, path, callbacks=callbacks)
    assert steps == []
    assert C.read(path)["kind"] == "generator"  # the file was left alone


def test_a_checkpoint_path_that_is_a_folder_is_refused_before_any_step(tiny_cfg, tiny_data, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    callbacks, steps = _counter()
    with pytest.raises(IsADirectoryError, match=re.escape(f"The checkpoint path {folder} is a folder")):
        _fit(tiny_cfg, tiny_data, folder, callbacks=callbacks)
    assert steps == [] and list(folder.iterdir()) == []


def test_a_checkpoint_path_under_a_regular_file_is_refused_before_any_step(tiny_cfg, tiny_data, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    path = blocker / "sub" / "r.pt"
    callbacks, steps = _counter()
    with pytest.raises(NotADirectoryError, match=re.escape(f"Cannot write the checkpoint {path}: {blocker} is a file")):
        _fit(tiny_cfg, tiny_data, path, callbacks=callbacks)
    assert steps == [] and blocker.read_text() == "a file, not a folder"
    # the good path: a checkpoint in a folder that does not exist yet is made, with its folders
    run = _fit(tiny_cfg.replace(max_steps=2), tiny_data, tmp_path / "new" / "deeper" / "r.pt", callbacks=callbacks)
    assert run.step == 2 and steps == [1, 2] and C.read(tmp_path / "new" / "deeper" / "r.pt")["step"] == 2


def _other_images(data, change):
    images = data.images.clone()
    change(images)
    return gl.data.ImageData(images, data.labels, data.source)


def test_resuming_on_other_data_is_refused_saying_what_differs(tiny_cfg, tiny_data, tmp_path):
    path = tmp_path / "r.pt"
    cfg = tiny_cfg.replace(max_steps=2)
    _fit(cfg, tiny_data, path)
    saved = C.read(path)
    more = gl.data.ImageData(torch.cat([tiny_data.images, tiny_data.images[:16]]),
                             torch.cat([tiny_data.labels, tiny_data.labels[:16]]), tiny_data.source)

    def flip_first(images):
        images[0] = 255 - images[0]  # the first image is among the fingerprinted samples

    cases = {
        "count": (more, r"count: the checkpoint trained on 96, this run has 112"),
        "fingerprint": (_other_images(tiny_data, flip_first), r"fingerprint: the checkpoint trained on '[0-9a-f]{16}'"),
        "source": (gl.data.ImageData(tiny_data.images, tiny_data.labels, "other images"),
                   r"source: the checkpoint trained on 'random test images', this run has 'other images'"),
    }
    for what, (data, words) in cases.items():
        callbacks, steps = _counter()
        with pytest.raises(ValueError) as err:
            _fit(cfg.replace(max_steps=4), data, path, callbacks=callbacks)
        message = str(err.value)
        assert f"Cannot resume {path}: it was trained on other data." in message, what
        assert re.search(words, message), (what, message)
        assert "delete the checkpoint (or give another path) to start a fresh run on this data" in message, what
        assert steps == [], what
    # only the count differs in the count case; only the images in the fingerprint case
    assert C.read(path)["step"] == 2 and C.read(path)["data"] == saved["data"]
    # the same data in another object: resumes
    same = gl.data.ImageData(tiny_data.images.clone(), tiny_data.labels.clone(), tiny_data.source)
    callbacks, steps = _counter()
    run = _fit(cfg.replace(max_steps=4), same, path, callbacks=callbacks)
    assert steps == [3, 4] and run.step == 4


def test_read_run_reports_each_difference_on_its_own_line(tiny_cfg, tiny_data, tmp_path):
    path = tmp_path / "r.pt"
    _fit(tiny_cfg.replace(max_steps=2), tiny_data, path)
    data_id = gl.train.data_identity(tiny_data)
    assert C.read_run(path, tiny_cfg.replace(max_steps=9, log_every=3), data_id)["step"] == 2  # resumable changes
    with pytest.raises(ValueError) as err:
        C.read_run(path, tiny_cfg.replace(max_steps=2, ngf=8, k=2), data_id)
    lines = str(err.value).splitlines()
    assert "  k: the checkpoint has 1, this run asks for 2" in lines
    assert "  ngf: the checkpoint has 4, this run asks for 8" in lines
    assert lines[-1].startswith("Use the same settings, or give a new checkpoint path")
