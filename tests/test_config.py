"""ganlib.config: the Config and its validation, the chapters' settings types, the size switch, describe,
device and seeding. (The presets themselves are tested in test_presets.py.)"""
import dataclasses
import math
import re

import pytest
import torch

import ganlib as gl
from ganlib import config


# ---------------------------------------------------------------- validation
BAD = [
    ("batch_size", 0), ("batch_size", -3), ("k", 0), ("k", -1), ("snapshot_every", 0), ("n_fixed", 0),
    ("image_size", 0), ("image_size", -1), ("image_size", 1e9), ("image_size", 32.0),
    ("lr", 0), ("lr", -1e-3), ("lr", math.inf), ("lr", math.nan), ("beta1", 1.0), ("beta2", -0.1),
    ("real_label", 0), ("real_label", 1.5), ("max_steps", 0), ("num_epochs", 0), ("log_every", 0),
    ("nz", 0), ("ngf", 0), ("ndf", 0), ("g_depth", 0), ("d_depth", 0), ("pack", 0), ("n_classes", -1),
    ("n_train", 0), ("nc", 2), ("init_std", 0.0), ("lr_decay", 1.5), ("lr_decay", -0.1),
    ("mode_seeking", -1.0), ("mode_seeking", math.inf), ("optimizer", "sgd"), ("size", "huge"),
    # a bool where an int belongs (bool is an int to Python, but True is no batch size)
    ("batch_size", True), ("k", True), ("n_fixed", False), ("max_steps", True),
    # a string where a number belongs
    ("lr", "2e-4"), ("batch_size", "64"),
]


@pytest.mark.parametrize("field, value", BAD, ids=[f"{f}={v!r}" for f, v in BAD])
def test_an_impossible_value_is_refused_naming_field_value_and_range(field, value):
    with pytest.raises(ValueError, match=re.escape(f"{field}={value!r} is impossible; it must be ")):
        gl.Config(**{field: value})
    good = gl.Config()
    with pytest.raises(ValueError, match=re.escape(f"{field}={value!r}")):  # replace is checked the same way
        good.replace(**{field: value})


def test_the_message_names_the_preset_and_the_allowed_range():
    with pytest.raises(ValueError, match=re.escape("Config 'dcgan-mnist': k=0 is impossible; it must be an integer "
                                                   ">= 1 (D steps per G update).")):
        gl.preset("dcgan-mnist", size="quick", k=0)
    with pytest.raises(ValueError, match=re.escape("image_size=1000000000.0 is impossible; it must be an integer from 1 "
                                                   "to 1024")):
        gl.Config(image_size=1e9)


GOOD = [
    ("batch_size", 1), ("k", 1), ("k", 5), ("snapshot_every", 1), ("n_fixed", 1), ("image_size", 1),
    ("image_size", 1024), ("lr", 1e-8), ("lr", 1e6), ("beta1", 0.0), ("beta1", 0.999), ("real_label", 1.0),
    ("real_label", 0.9), ("max_steps", 1), ("max_steps", None), ("n_train", None), ("n_train", 1), ("nc", 3),
    ("mode_seeking", 0.0), ("mode_seeking", 2.5), ("optimizer", "rmsprop"), ("n_classes", 0),
]


@pytest.mark.parametrize("field, value", GOOD, ids=[f"{f}={v!r}" for f, v in GOOD])
def test_good_values_pass(field, value):
    cfg = gl.Config(**{field: value})
    assert getattr(cfg, field) == value
    assert gl.config.validate(cfg) is cfg


def test_lr_decay_needs_max_steps():
    with pytest.raises(ValueError, match=re.escape("lr_decay=0.1 needs max_steps (where the decay ends)")):
        gl.Config(lr_decay=0.1)
    with pytest.raises(ValueError, match="lr_decay=0.1 needs max_steps"):
        gl.Config(lr_decay=0.1, max_steps=100).replace(max_steps=None)
    for decay in (0.0, 0.1, 1.0):
        assert gl.Config(lr_decay=decay, max_steps=100).lr_decay == decay


def test_chapter_settings_must_be_one_of_the_chapter_types():
    names = ", ".join(config.CHAPTER_SETTINGS)
    assert names.startswith("Toy1D, Faces, Conditional, Toy2D, Variants")
    with pytest.raises(ValueError, match=re.escape(f"chapter={{'jsd_every': 5}} is not one of {names}.")):
        gl.Config(chapter=type("Other", (), {"__repr__": lambda self: "{'jsd_every': 5}"})())
    for cls in config.CHAPTER_SETTINGS.values():
        assert isinstance(gl.Config(chapter=cls()).chapter, cls)
    with pytest.raises(KeyError):
        gl.Config(chapter={"kind": "Toy3D", "settings": {}})  # a dict names its type by "kind"
    # Toy2D has a field called kind: the type's name and the settings do not collide
    ring = gl.Config(chapter=config.Toy2D(kind="grid", std=0.1))
    saved = ring.to_dict()["chapter"]
    assert saved == {"kind": "Toy2D", "settings": dataclasses.asdict(config.Toy2D(kind="grid", std=0.1))}
    assert saved["settings"]["kind"] == "grid" and saved["settings"]["std"] == 0.1
    assert gl.Config.from_dict(ring.to_dict()).chapter == config.Toy2D(kind="grid", std=0.1)
    # the flat form (the fields beside kind) is read too
    assert gl.Config(chapter={"kind": "Toy1D", "jsd_every": 3}).chapter == config.Toy1D(jsd_every=3)


def test_chapter_settings_are_frozen_dataclasses():
    t = config.Toy1D()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.jsd_every = 3
    assert dataclasses.replace(t, jsd_every=3).jsd_every == 3 and t.jsd_every == 20


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", ["mlp-mnist", "toy1d", "dcgan-faces", "cgan-mnist", "challenges-grid", "variants-mnist"])
def test_config_round_trips_through_a_dict_with_its_chapter_settings(name):
    cfg = gl.preset(name, size="book")
    values = cfg.to_dict()
    assert set(values) == {f.name for f in dataclasses.fields(gl.Config)}
    if cfg.chapter is not None:
        assert values["chapter"]["kind"] == type(cfg.chapter).__name__
        assert values["chapter"]["settings"] == dataclasses.asdict(cfg.chapter)
    back = gl.Config.from_dict(values)
    assert back == cfg and type(back.chapter) is type(cfg.chapter)
    assert values == cfg.to_dict()  # from_dict did not change the dict it was given
    assert cfg.replace(real_label=0.9).real_label == pytest.approx(0.9)


def test_a_config_survives_a_weights_only_checkpoint(tmp_path):
    cfg = gl.preset("toy1d", size="quick", chapter=dict(jsd_every=7))
    torch.save({"config": cfg.to_dict()}, tmp_path / "c.pt")
    back = gl.Config.from_dict(torch.load(tmp_path / "c.pt", weights_only=True)["config"])
    assert back == cfg and back.chapter.jsd_every == 7 and isinstance(back.chapter, config.Toy1D)


# ---------------------------------------------------------------- the size switch
def test_size_reads_environment(monkeypatch):
    monkeypatch.setenv("GANLIB_SIZE", "full")
    assert config.size() == "full"
    monkeypatch.setenv("GANLIB_SIZE", "Book ")
    assert config.size() == "book"
    monkeypatch.setenv("GANLIB_SIZE", "huge")
    with pytest.raises(ValueError, match=re.escape("GANLIB_SIZE='huge' is not a size; use one of quick, book, full")):
        config.size()


@pytest.mark.parametrize("value", [None, "", "auto", " AUTO "])
def test_size_without_a_choice_is_full_with_cuda_and_book_without_said_once(monkeypatch, capsys, value):
    if value is None:
        monkeypatch.delenv("GANLIB_SIZE", raising=False)
    else:
        monkeypatch.setenv("GANLIB_SIZE", value)
    monkeypatch.setattr(config, "_told", set())  # as in a fresh process
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert config.size() == "book"
    said = capsys.readouterr().out
    assert "GANLIB_SIZE is not set: using 'book' because no CUDA GPU is available" in said
    assert "Set GANLIB_SIZE=quick|book|full" in said
    assert config.size() == "book" and capsys.readouterr().out == ""  # said once
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.size() == "full"
    assert "using 'full' because a CUDA GPU is available" in capsys.readouterr().out
    assert config.size() == "full" and capsys.readouterr().out == ""
    assert gl.preset("dcgan-mnist").size == "full"  # presets follow it


def test_preset_size_follows_the_environment(monkeypatch):
    monkeypatch.setenv("GANLIB_SIZE", "quick")
    assert gl.preset("dcgan-mnist").size == "quick"
    assert gl.preset("dcgan-mnist", size="book").size == "book"  # an explicit size wins


# ---------------------------------------------------------------- describe and budget
def test_describe_names_the_size_and_says_how_to_change_it():
    text = gl.describe(gl.preset("dcgan-mnist", size="quick"))
    assert "QUICK" in text and "1x32x32" in text
    assert "To change the size, set GANLIB_SIZE=quick|book|full" in text and "run the notebook again" in text
    assert "before starting the kernel" not in text
    for size in ("book", "full"):
        text = gl.describe(gl.preset("dcgan-mnist", size=size))
        assert size.upper() in text and "before starting the kernel" not in text and "GANLIB_SIZE" in text
    toy = gl.describe(gl.preset("toy1d", size="quick"))
    assert "toy points" in toy and "at most 20000 training samples" in toy


@pytest.mark.parametrize("name, fields, expected", [
    ("dcgan-mnist", {}, "1 epoch(s)"),
    ("dcgan-mnist", {"max_steps": 7}, "7 G updates (or 1 epoch(s) if that ends sooner)"),
    ("variants-mnist", {}, "8 G updates (or 1000 epoch(s) if that ends sooner)"),
])
def test_describe_reports_the_training_budget(name, fields, expected):
    cfg = gl.preset(name, size="quick", **fields)
    assert gl.config.budget(cfg) == expected
    assert expected in gl.describe(cfg)


# ---------------------------------------------------------------- device and seed
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
