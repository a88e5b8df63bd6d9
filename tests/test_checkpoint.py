import pytest
import torch

import ganlib as gl
from ganlib import checkpoint as C
from ganlib import models as M


class Stop(KeyboardInterrupt):
    pass


def _fit(cfg, data, path, **kw):
    G, D = M.build(cfg)
    return gl.fit(G, D, data, cfg, checkpoint=str(path), progress=False, **kw)


def _same_run(a, b):
    for name in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "epoch"):
        assert getattr(a.history, name) == getattr(b.history, name), name
    assert a.history.snapshot_steps == b.history.snapshot_steps
    for x, y in zip(a.history.snapshots, b.history.snapshots):
        torch.testing.assert_close(x, y)
    for x, y in zip(a.G.state_dict().values(), b.G.state_dict().values()):
        torch.testing.assert_close(x, y)
    for x, y in zip(a.opt_d.state_dict()["state"].values(), b.opt_d.state_dict()["state"].values()):
        torch.testing.assert_close(x["exp_avg"], y["exp_avg"])


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
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Delete it"):
        C.read(path)


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
