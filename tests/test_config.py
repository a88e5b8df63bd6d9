import pytest
import torch

import ganlib as gl
from ganlib import config


def test_size_reads_environment(monkeypatch):
    monkeypatch.setenv("GANLIB_SIZE", "full")
    assert config.size() == "full"
    monkeypatch.setenv("GANLIB_SIZE", "Book ")
    assert config.size() == "book"
    monkeypatch.setenv("GANLIB_SIZE", "huge")
    with pytest.raises(ValueError, match="quick, book, full"):
        config.size()


def test_presets_differ_by_size_and_full_is_the_source_setting():
    quick, book, full = (gl.preset("dcgan-mnist", size=s) for s in ("quick", "book", "full"))
    # source 001 12.4.6: 64 px, doubled channels (1024 -> 128), biases on, batch 128, 5 epochs, Adam 2e-4/0.5
    assert (full.image_size, full.ngf, full.ndf, full.batch_size, full.num_epochs) == (64, 128, 128, 128, 5)
    assert full.bias is True and full.lr == pytest.approx(2e-4) and full.beta1 == pytest.approx(0.5)
    assert quick.ngf < book.ngf <= full.ngf
    assert quick.n_train is not None and quick.n_train < 1000


def test_preset_overrides_and_errors():
    cfg = gl.preset("dcgan-mnist", size="quick", ngf=3)
    assert cfg.ngf == 3 and cfg.name == "dcgan-mnist" and cfg.size == "quick"
    with pytest.raises(KeyError, match="dcgan-mnist"):
        gl.preset("no-such-chapter")
    with pytest.raises(TypeError, match="Unknown Config fields"):
        gl.preset("dcgan-mnist", size="quick", ngff=3)


def test_config_round_trips_through_a_dict():
    cfg = gl.preset("mlp-mnist", size="book")
    assert gl.Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.replace(real_label=0.9).real_label == pytest.approx(0.9)


def test_device_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert gl.device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gl.device() == torch.device("cuda")


def test_seed_everything_repeats():
    g1 = gl.seed_everything(7)
    a = torch.randn(5), torch.randn(5, generator=g1)
    g2 = gl.seed_everything(7)
    b = torch.randn(5), torch.randn(5, generator=g2)
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])
    assert not torch.equal(a[0], torch.randn(5))


def test_describe_names_the_size():
    text = gl.describe(gl.preset("dcgan-mnist", size="quick"))
    assert "QUICK" in text and "1x32x32" in text


@pytest.mark.parametrize("name, fields, expected", [
    ("dcgan-mnist", {}, "1 epoch(s)"),
    ("dcgan-mnist", {"max_steps": 7}, "7 G updates (or 1 epoch(s) if that ends sooner)"),
    ("variants-mnist", {}, "8 G updates per run"),
])
def test_describe_reports_the_training_budget(name, fields, expected):
    cfg = gl.preset(name, size="quick", **fields)
    assert gl.config.budget(cfg) == expected
    assert expected in gl.describe(cfg)
